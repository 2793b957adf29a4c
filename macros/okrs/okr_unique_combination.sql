{#- No two rows of a model share the values of `columns` (a list): the key of a fact table. -#}
{% test okr_unique_combination(model, columns) -%}
    select
        {{ columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{%- endtest %}
