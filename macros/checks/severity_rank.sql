{#- Orders severities: critical (2) is worse than warning (1). -#}
{% macro severity_rank(severity_expr) -%}
    case {{ severity_expr }} when 'critical' then 2 when 'warning' then 1 else 0 end
{%- endmacro %}
