{#- Generic test: every non-null value of `column_name` lies in [min_value, max_value] (either may be
    omitted). Returns the offending rows. Mirrored in Great Expectations as
    expect_column_values_to_be_between. -#}
{% test values_between(model, column_name, min_value=none, max_value=none) -%}
    select {{ column_name }} as offending_value
    from {{ model }}
    where
        {{ column_name }} is not null
        and (
            1 = 0
            {%- if min_value is not none %}
            or {{ column_name }} < {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
            or {{ column_name }} > {{ max_value }}
            {%- endif %}
        )
{%- endtest %}
