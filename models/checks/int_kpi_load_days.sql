{#- One row per data source and day of the calendar: is the day's data there, and complete?
    The load checks of docs/checks.md ("Freshness and load checks"), each source judged against
    its own history.

    A source is kpi_definitions.data_source (a KPI without one is its own source). Its daily rows
    come from the models in the var okr_kpi_source_loads (macro okr_kpi.source_load: data_source,
    date_day, row_count, last_row_at); a source none of them lists is judged from its KPIs' input
    days alone (a day has data when any of its KPIs has an input row; no volume, no timing).

    A day is not covered (reason, first match):
    - stale: after the source's last day with rows, when the days since then (up to as_of_date)
      outnumber the longest run of empty days inside the source's history (a source that is
      often empty is not stale after a quiet spell of its usual length);
    - missing_load: no rows on a day, for a source that (over its history) is empty on fewer
      than okr_kpi_load_empty_share (default 0.02) of its days and, where its rows are counted,
      whose usual rows on that weekday make an empty day implausible for a count (a Poisson
      count of that mean is 0 with a chance below okr_kpi_load_missing_p, default 0.001: about
      7 rows or more). Such a day is still judged (is_judged: its value is 0) and its breaches
      are marked suspect; the other reasons make the day's periods not full: never judged;
    - low_volume: fewer rows than okr_kpi_load_min_share (default 0.15) of the usual rows of that
      weekday (mean of the okr_kpi_load_window (default 8) previous same weekdays), fewer than
      the fewest of those weekdays, and more than okr_kpi_load_sigma (default 3) Poisson spreads
      (sqrt of the usual rows) below the usual: a 10 % load of a busy source, never an
      ordinary quiet day of a sparse or a lumpy one;
    - early_stop: the last row earlier in the day than the usual last-row hour of that weekday by
      more than okr_kpi_load_early_hours (default 3) hours and okr_kpi_load_sigma standard
      deviations, and either a silence that would have held at least okr_kpi_load_silent_rows
      (default 10) rows at the source's rate (the lower of that day's rows per hour up to its
      last row and the usual rows per hour up to the usual last row; a count of that mean is
      0 with a chance of e^-10) or the day's rows more than okr_kpi_load_sigma spreads below
      the usual (spread: the weekday's standard deviation, at least sqrt(usual rows)): a load
      that stopped at noon, never a quiet evening of a sparse source.
    Days after the source's last data that are not stale are judged by the same rules (a
    weekday business whose feed stopped on Wednesday is low_volume on Thursday).
    Judging volume or timing needs okr_kpi_load_min_history (default 4) previous same weekdays. -#}
{%- set load_models = var('okr_kpi_source_loads', []) | list -%}
{%- set empty_share = var('okr_kpi_load_empty_share', 0.02) | float -%}
{%- set min_share = var('okr_kpi_load_min_share', 0.15) | float -%}
{%- set load_window = var('okr_kpi_load_window', 8) | int -%}
{%- set sigma = var('okr_kpi_load_sigma', 3) | float -%}
{%- set early_hours = var('okr_kpi_load_early_hours', 3) | float -%}
{%- set missing_p = var('okr_kpi_load_missing_p', 0.001) | float -%}
{%- set silent_rows = var('okr_kpi_load_silent_rows', 10) | float -%}
{%- set min_history = var('okr_kpi_load_min_history', 4) | int -%}
{%- set double = okr_kpi.type_double() -%}
{#- The spread of a day's rows as a count (Poisson: sqrt of the usual rows); lumpy sources are
    covered by the "fewer than the fewest of the previous same weekdays" condition. -#}
{%- set spread = 'sqrt(wh.usual_rows)' -%}
{#- The spread of a day's rows for the timing rule: the weekday's standard deviation, at least
    the Poisson one. -#}
{%- set day_spread = 'greatest(coalesce(wh.rows_stddev, 0), sqrt(wh.usual_rows))' -%}
{#- Rows per hour: that day's up to its last row, and the usual up to the usual last row. -#}
{%- set day_rate = 'wh.row_count / greatest(wh.last_row_hour, 1.0)' -%}
{%- set usual_rate = 'wh.usual_rows / greatest(wh.usual_last_row_hour, 1.0)' -%}
{%- set silent_hours = '(wh.usual_last_row_hour - wh.last_row_hour)' -%}
{%- set string = dbt.type_string() -%}
{%- set day_start = 'cast(grid.date_day as ' ~ dbt.type_timestamp() ~ ')' -%}
{%- set seconds_into_day = okr_kpi.seconds_between(day_start, 'daily_loads.last_row_at') -%}
{%- set gap_days = dbt.datediff('date_day', 'next_data_date', 'day') -%}
{#- The columns of a load model's rows (okr_kpi.source_load), also those of the empty relation. -#}
{%- set load_columns = [
    ('data_source', string), ('date_day', 'date'), ('row_count', double),
    ('last_row_at', dbt.type_timestamp())
] -%}
{%- set load_casts, null_casts = [], [] -%}
{%- for column, type in load_columns -%}
{%- do load_casts.append('cast(' ~ column ~ ' as ' ~ type ~ ') as ' ~ column) -%}
{%- do null_casts.append('cast(null as ' ~ type ~ ') as ' ~ column) -%}
{%- endfor -%}
{%- set days_since_last = dbt.datediff('spans.last_data_date', okr_kpi.as_of_date(), 'day') -%}

with kpis as (
    select
        kpi_id,
        coalesce(data_source, kpi_id) as data_source
    from {{ ref('dim_kpis') }}
),

calendar as (
    select date_day from {{ ref('int_kpi_calendar') }}
),

loads as (
    {%- for model_name in load_models %}
    select
        {{ load_casts | join(',\n        ') }}
    from {{ okr_kpi.project_ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if load_models | length == 0 %}
    select
        {{ null_casts | join(',\n        ') }}
    from {{ ref('dim_kpis') }}
    where 1 = 0
    {%- endif %}
),

daily_loads as (
    select
        data_source,
        date_day,
        sum(row_count) as row_count,
        max(last_row_at) as last_row_at
    from loads
    where date_day is not null
    group by data_source, date_day
),

measured_sources as (
    select distinct data_source from daily_loads
),

kpi_days as (
    select distinct
        kpis.data_source,
        inputs.date_day
    from {{ ref('int_kpi_inputs') }} as inputs
    inner join kpis on inputs.kpi_id = kpis.kpi_id
),

sources as (
    select distinct
        kpis.data_source,
        coalesce(measured_sources.data_source is not null, false) as is_measured
    from kpis
    left join measured_sources on kpis.data_source = measured_sources.data_source
),

grid as (
    select
        sources.data_source,
        sources.is_measured,
        calendar.date_day
    from sources
    cross join calendar
),

joined as (
    select
        grid.data_source,
        grid.is_measured,
        grid.date_day,
        case
            when grid.is_measured then coalesce(daily_loads.row_count, 0)
        end as row_count,
        daily_loads.last_row_at,
        case
            when daily_loads.last_row_at is not null
                then {{ seconds_into_day }} / 3600.0
        end as last_row_hour,
        case
            when grid.is_measured then coalesce(daily_loads.row_count, 0) > 0
            else kpi_days.date_day is not null
        end as has_rows,
        {{ okr_kpi.day_of_week('grid.date_day') }} as weekday
    from grid
    left join daily_loads
        on
            grid.data_source = daily_loads.data_source
            and grid.date_day = daily_loads.date_day
    left join kpi_days
        on
            grid.is_measured = false
            and grid.data_source = kpi_days.data_source
            and grid.date_day = kpi_days.date_day
),

spans as (
    select
        data_source,
        min(case when has_rows then date_day end) as first_data_date,
        max(case when has_rows then date_day end) as last_data_date
    from joined
    group by data_source
),

data_days as (
    select
        joined.data_source,
        joined.date_day,
        lead(joined.date_day) over (partition by joined.data_source order by joined.date_day) as next_data_date
    from joined
    where joined.has_rows
),

gaps as (
    select
        data_source,
        coalesce(max({{ gap_days }} - 1), 0) as longest_gap_days
    from data_days
    group by data_source
),

history as (
    select
        joined.data_source,
        avg(case when joined.has_rows then 0.0 else 1.0 end) as empty_share,
        avg(joined.row_count) as mean_rows
    from joined
    inner join spans on joined.data_source = spans.data_source
    where joined.date_day between spans.first_data_date and spans.last_data_date
    group by joined.data_source
),

{#- The okr_kpi_load_window previous same weekdays of a source: one frame for every measure. -#}
{%- set same_weekdays -%}
over (
            partition by joined.data_source, joined.weekday order by joined.date_day
            rows between {{ load_window }} preceding and 1 preceding
        )
{%- endset %}

weekday_history as (
    select
        joined.*,
        avg(joined.row_count) {{ same_weekdays }} as usual_rows,
        min(joined.row_count) {{ same_weekdays }} as fewest_rows,
        stddev_samp(joined.row_count) {{ same_weekdays }} as rows_stddev,
        count(joined.row_count) {{ same_weekdays }} as rows_history,
        avg(joined.last_row_hour) {{ same_weekdays }} as usual_last_row_hour,
        stddev_samp(joined.last_row_hour) {{ same_weekdays }} as last_row_hour_stddev,
        count(joined.last_row_hour) {{ same_weekdays }} as last_row_hour_history
    from joined
),

judged as (
    select
        wh.*,
        spans.first_data_date,
        spans.last_data_date,
        gaps.longest_gap_days,
        history.empty_share,
        case
            when spans.last_data_date is null then null
            when
                wh.date_day > spans.last_data_date
                and {{ days_since_last }} > coalesce(gaps.longest_gap_days, 0)
                then 'stale: no rows after ' || cast(spans.last_data_date as {{ string }})
            when wh.date_day < spans.first_data_date then null
            when
                not wh.has_rows
                and history.empty_share < {{ empty_share }}
                and (
                    not wh.is_measured
                    or coalesce(
                        case when wh.rows_history >= {{ min_history }} then wh.usual_rows end,
                        history.mean_rows
                    ) >= ln(1.0 / {{ missing_p }})
                )
                then 'missing_load: no input rows on ' || cast(wh.date_day as {{ string }})
            when
                wh.rows_history >= {{ min_history }}
                and wh.row_count < {{ min_share }} * wh.usual_rows
                and wh.row_count < wh.fewest_rows
                and wh.row_count < wh.usual_rows - {{ sigma }} * {{ spread }}
                then
                    'low_volume: ' || cast(cast(wh.row_count as bigint) as {{ string }})
                    || ' rows on ' || cast(wh.date_day as {{ string }}) || ', usually about '
                    || cast(cast(round(wh.usual_rows) as bigint) as {{ string }})
            when
                wh.last_row_hour_history >= {{ min_history }}
                and wh.last_row_hour < wh.usual_last_row_hour - {{ early_hours }}
                and wh.last_row_hour
                < wh.usual_last_row_hour - {{ sigma }} * coalesce(wh.last_row_hour_stddev, 0)
                and (
                    least({{ day_rate }}, {{ usual_rate }}) * {{ silent_hours }} >= {{ silent_rows }}
                    or wh.row_count < wh.usual_rows - {{ sigma }} * {{ day_spread }}
                )
                then
                    'early_stop: last row on ' || cast(wh.date_day as {{ string }}) || ' at hour '
                    || cast(cast(floor(wh.last_row_hour) as bigint) as {{ string }})
                    || ', usually about '
                    || cast(cast(round(wh.usual_last_row_hour) as bigint) as {{ string }})
        end as reason
    from weekday_history as wh
    inner join spans on wh.data_source = spans.data_source
    left join gaps on wh.data_source = gaps.data_source
    left join history on wh.data_source = history.data_source
),

final as (
    select
        cast(data_source as {{ string }}) as data_source,
        date_day,
        is_measured,
        has_rows,
        row_count,
        last_row_at,
        last_row_hour,
        usual_rows,
        usual_last_row_hour,
        first_data_date,
        last_data_date,
        longest_gap_days,
        empty_share,
        reason is null as is_covered,
        -- a missing day inside the history is judged (its value is 0) and its breaches suspect;
        -- stale, low-volume and early-stopped days are not judged at all
        coalesce(reason is null or reason like 'missing_load%', false) as is_judged,
        cast(reason as {{ string }}) as reason
    from judged
)

select * from final
