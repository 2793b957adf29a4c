{#- P(Z <= z) for a standard normal Z, as portable SQL (exp, sqrt, abs only).

    Uses the error function approximation 7.1.26 of Abramowitz and Stegun (Handbook of
    Mathematical Functions, 1964; absolute error below 1.5e-7):
        erf(x) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) exp(-x^2),  t = 1 / (1 + p x),  x >= 0
    and Phi(z) = (1 + sign(z) erf(|z| / sqrt(2))) / 2. A null z gives null.
    x^2 is capped at 700 inside exp (PostgreSQL raises an underflow error below exp(-708); the
    term is 0 to double precision there anyway). -#}
{% macro normal_cdf(z) -%}
    {%- set x = "(abs(" ~ z ~ ") / sqrt(2.0))" -%}
    {%- set t = "(1.0 / (1.0 + 0.3275911 * " ~ x ~ "))" -%}
    (0.5 * (1.0 + case when ({{ z }}) < 0 then -1.0 else 1.0 end * (
        1.0 - (
            {{ t }} * (0.254829592 + {{ t }} * (-0.284496736 + {{ t }} * (1.421413741
            + {{ t }} * (-1.453152027 + {{ t }} * 1.061405429))))
        ) * exp(-least({{ x }} * {{ x }}, 700.0))
    )))
{%- endmacro %}
