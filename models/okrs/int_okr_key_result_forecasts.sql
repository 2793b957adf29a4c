{#- One row per key result per day of its cycle (up to as_of_date): a least-squares linear trend of
    the key result's readings over the cycle so far (x = elapsed_days), extrapolated to the cycle's
    last day (docs/scoring.md, "Forecast").

    Readings: cycle_to_date, every day's value; latest_period, the value of each period of `grain`
    on the day the period ends (inside the cycle: the daily series only repeats it until the next
    period completes); check-ins, the value of each check-in on its day.

    Written with running sums (n, sum x, sum y, sum xx, sum xy, sum yy) so that it runs on every
    warehouse: slope = Sxy / Sxx, intercept = (sum y - slope sum x) / n, with the centred sums
    Sxx = sum xx - (sum x)^2 / n, Sxy = sum xy - sum x sum y / n, Syy = sum yy - (sum y)^2 / n.
    Residual standard deviation s = sqrt((Syy - slope Sxy) / (n - 2)); the standard error of the
    value predicted at x0 = cycle_days is s * sqrt(1 + 1/n + (x0 - mean x)^2 / Sxx).
    forecast_value needs 2 readings, forecast_std_error 3. -#}
{%- set double = okr_kpi.type_double() -%}

with key_results as (
    select
        key_result_id,
        measured_by,
        measure
    from {{ ref('int_okr_key_results') }}
),

key_result_values as (
    select
        key_result_values.key_result_id,
        key_result_values.date_day,
        key_result_values.cycle_days,
        cast(key_result_values.elapsed_days as {{ double }}) as x,
        case
            when
                key_results.measured_by = 'check_ins'
                and key_result_values.date_day != key_result_values.last_check_in_date
                then null
            when
                key_results.measured_by = 'kpi'
                and key_results.measure = 'latest_period'
                and key_result_values.date_day != key_result_values.value_period_end
                then null
            else key_result_values.current_value
        end as y
    from {{ ref('int_okr_key_result_values') }} as key_result_values
    inner join key_results on key_result_values.key_result_id = key_results.key_result_id
),

sums as (
    select
        key_result_id,
        date_day,
        cast(cycle_days as {{ double }}) as x_end,
        coalesce(sum(case when y is not null then 1.0 else 0.0 end) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ), 0) as n,
        coalesce(sum(case when y is not null then x end) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ), 0) as sum_x,
        coalesce(sum(y) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ), 0) as sum_y,
        coalesce(sum(case when y is not null then x * x end) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ), 0) as sum_xx,
        coalesce(sum(x * y) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ), 0) as sum_xy,
        coalesce(sum(y * y) over (
            partition by key_result_id order by date_day rows between unbounded preceding and current row
        ), 0) as sum_yy
    from key_result_values
),

centred as (
    select
        key_result_id,
        date_day,
        x_end,
        n,
        sum_x,
        sum_y,
        case when n >= 2 then sum_xx - sum_x * sum_x / n end as sxx,
        case when n >= 2 then sum_xy - sum_x * sum_y / n end as sxy,
        case when n >= 2 then sum_yy - sum_y * sum_y / n end as syy
    from sums
),

fitted as (
    select
        *,
        sxy / nullif(sxx, 0) as slope
    from centred
),

final as (
    select
        key_result_id,
        date_day,
        cast(n as integer) as forecast_points,
        slope as forecast_slope,
        (sum_y - slope * sum_x) / nullif(n, 0) + slope * x_end as forecast_value,
        case
            when n >= 3 and sxx > 0
                then
                    sqrt(case when syy - slope * sxy > 0 then syy - slope * sxy else 0 end / (n - 2))
                    * sqrt(1 + 1 / n + (x_end - sum_x / n) * (x_end - sum_x / n) / sxx)
        end as forecast_std_error
    from fitted
)

select * from final
