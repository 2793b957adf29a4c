{#- The first day of the period of `grain` (day, week, month, quarter, year) holding date_expr.
    Weeks are ISO weeks, Monday to Sunday. -#}
{% macro period_start(grain_expr, date_expr) -%}
    case {{ grain_expr }}
        when 'day' then cast({{ date_expr }} as date)
        when 'week' then cast({{ dbt.date_trunc('week', date_expr) }} as date)
        when 'month' then cast({{ dbt.date_trunc('month', date_expr) }} as date)
        when 'quarter' then cast({{ dbt.date_trunc('quarter', date_expr) }} as date)
        when 'year' then cast({{ dbt.date_trunc('year', date_expr) }} as date)
    end
{%- endmacro %}

{#- The last day of the period of `grain` starting on start_expr. -#}
{% macro period_end(grain_expr, start_expr) -%}
    case {{ grain_expr }}
        when 'day' then cast({{ start_expr }} as date)
        when 'week' then cast({{ dbt.dateadd('day', 6, start_expr) }} as date)
        when 'month' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, start_expr)) }} as date)
        when 'quarter' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, start_expr)) }} as date)
        when 'year' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, start_expr)) }} as date)
    end
{%- endmacro %}

{#- The start of the same period one year later: a week is compared with the week 52 weeks
    later (same weekdays); a day, month, quarter or year with the same calendar period. -#}
{% macro period_start_next_year(grain_expr, start_expr) -%}
    case {{ grain_expr }}
        when 'week' then cast({{ dbt.dateadd('day', 364, start_expr) }} as date)
        else cast({{ dbt.dateadd('year', 1, start_expr) }} as date)
    end
{%- endmacro %}

{#- The start of the same period one year earlier (the inverse of period_start_next_year, except
    that 29 February maps onto 28 February of the year before). -#}
{% macro period_start_prior_year(grain_expr, start_expr) -%}
    case {{ grain_expr }}
        when 'week' then cast({{ dbt.dateadd('day', -364, start_expr) }} as date)
        else cast({{ dbt.dateadd('year', -1, start_expr) }} as date)
    end
{%- endmacro %}

{#- The grains every KPI is computed at, as a relation with one column `grain`. -#}
{% macro grains() -%}
    (
        select 'day' as grain, 1 as grain_order
        union all select 'week', 2
        union all select 'month', 3
        union all select 'quarter', 4
        union all select 'year', 5
    )
{%- endmacro %}
