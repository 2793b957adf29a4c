{#- Generic test: the number of rows of `model` lies in [min_value, max_value] (either may be
    omitted). Returns one row when it does not. Mirrored in Great Expectations as
    expect_table_row_count_to_be_between. -#}
{% test row_count_between(model, min_value=none, max_value=none) -%}
    select row_count
    from (select count(*) as row_count from {{ model }}) as counted
    where
        1 = 0
        {%- if min_value is not none %}
        or row_count < {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or row_count > {{ max_value }}
        {%- endif %}
{%- endtest %}
