with definitions as (
    select * from {{ okr_kpi.project_ref('kpi_definitions') }}
),

inputs as (
    select
        kpi_id,
        min(date_day) as first_data_date,
        max(date_day) as last_data_date
    from {{ ref('int_kpi_inputs') }}
    group by kpi_id
),

final as (
    select
        cast(definitions.kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(definitions.name as {{ dbt.type_string() }}) as name,
        cast(definitions.description as {{ dbt.type_string() }}) as description,
        cast(definitions.unit as {{ dbt.type_string() }}) as unit,
        cast(definitions.direction as {{ dbt.type_string() }}) as direction,
        cast(definitions.aggregation as {{ dbt.type_string() }}) as aggregation,
        {{ okr_kpi.kpi_percentile(okr_kpi.project_ref('kpi_definitions'), 'definitions') }} as percentile,
        cast(definitions.owner as {{ dbt.type_string() }}) as owner,
        cast(definitions.data_source as {{ dbt.type_string() }}) as data_source,
        cast(definitions.reporting_frequency as {{ dbt.type_string() }}) as reporting_frequency,
        cast({{ okr_kpi.reporting_grain('definitions.reporting_frequency') }} as {{ dbt.type_string() }})
            as reporting_grain,
        coalesce(
            {{ okr_kpi.seed_column(okr_kpi.project_ref('kpi_definitions'), 'definitions', 'reporting_lag_days',
                '0', dbt.type_int()) }},
            0
        ) as reporting_lag_days,
        inputs.first_data_date,
        inputs.last_data_date,
        coalesce(inputs.kpi_id is not null, false) as has_data
    from definitions
    left join inputs on definitions.kpi_id = inputs.kpi_id
)

select * from final
