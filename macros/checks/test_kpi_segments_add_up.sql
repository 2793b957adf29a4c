{#- Generic test on fct_kpi_segment_daily: for every additive KPI (sum, count) and every day,
    the segments of each dimension add up to the total of fct_kpi_daily (within `tolerance`,
    relative). It fails when an input model's segment rows do not partition its total rows
    (docs/segments.md: a hand-written input must give every event one value per dimension;
    kpi_input does, with '(none)' for events without one). Severity warn by default. -#}
{% test kpi_segments_add_up(model, tolerance=0.000001) -%}
    {{ config(severity='warn') }}
    with segments as (
        select
            kpi_id,
            segment_dimension,
            date_day,
            sum(value) as segment_sum
        from {{ model }}
        group by kpi_id, segment_dimension, date_day
    ),

    totals as (
        select
            daily.kpi_id,
            daily.date_day,
            daily.value
        from {{ ref('fct_kpi_daily') }} as daily
        inner join {{ ref('dim_kpis') }} as kpis on daily.kpi_id = kpis.kpi_id
        where kpis.aggregation in ('sum', 'count')
    )

    select
        totals.kpi_id,
        segments.segment_dimension,
        totals.date_day,
        totals.value as total_value,
        segments.segment_sum
    from totals
    inner join segments
        on
            totals.kpi_id = segments.kpi_id
            and totals.date_day = segments.date_day
    where abs(segments.segment_sum - totals.value) > {{ tolerance }} * greatest(abs(totals.value), 1)
{%- endtest %}
