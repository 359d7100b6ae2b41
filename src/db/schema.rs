// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        id -> Int8,
        name -> Text,
        role -> Text,
        borough_id -> Nullable<Text>,
        prefix -> Text,
        key_hash -> Text,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    boroughs (id) {
        id -> Text,
        gss_code -> Text,
        name -> Text,
        official_name -> Text,
        kind -> Text,
        inner_london_statutory -> Bool,
        inner_london_ons -> Bool,
        surveyed -> Bool,
        website -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    changes (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_kind -> Text,
        actor_key_id -> Nullable<Int8>,
        actor_name -> Text,
        resource -> Text,
        resource_id -> Text,
        action -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
    }
}

diesel::table! {
    contract_service_areas (contract_id, service_area_id) {
        contract_id -> Int8,
        service_area_id -> Text,
        end_date -> Nullable<Date>,
        borough_id -> Text,
        annual_value_gbp -> Nullable<Numeric>,
    }
}

diesel::table! {
    contracts (id) {
        id -> Int8,
        borough_id -> Text,
        supplier_id -> Text,
        system_id -> Nullable<Text>,
        title -> Text,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        max_end_date -> Nullable<Date>,
        annual_value_gbp -> Nullable<Numeric>,
        total_value_gbp -> Nullable<Numeric>,
        hosting -> Text,
        procurement_route -> Text,
        framework_name -> Nullable<Text>,
        data_access -> Text,
        source -> Text,
        source_reference -> Nullable<Text>,
        source_url -> Nullable<Text>,
        satisfaction -> Nullable<Int2>,
        value_for_money -> Nullable<Int2>,
        support_confidence -> Nullable<Int2>,
        development_confidence -> Nullable<Int2>,
        notes -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        retrieved_at -> Nullable<Timestamptz>,
        sync_run_id -> Nullable<Int8>,
    }
}

diesel::table! {
    service_areas (id) {
        id -> Text,
        name -> Text,
        parent_id -> Nullable<Text>,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    supplier_aliases (supplier_id, alias) {
        supplier_id -> Text,
        alias -> Text,
        normalized -> Text,
    }
}

diesel::table! {
    suppliers (id) {
        id -> Text,
        name -> Text,
        companies_house_number -> Nullable<Text>,
        website -> Nullable<Text>,
        sme -> Nullable<Bool>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> Int8,
        source -> Text,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        pages -> Int4,
        added -> Int4,
        updated -> Int4,
        unchanged -> Int4,
        skipped -> Int4,
        error -> Nullable<Text>,
        position -> Nullable<Text>,
        tenders_added -> Int4,
        tenders_updated -> Int4,
    }
}

diesel::table! {
    tender_service_areas (tender_id, service_area_id) {
        tender_id -> Int8,
        service_area_id -> Text,
    }
}

diesel::table! {
    tenders (id) {
        id -> Int8,
        ocid -> Text,
        borough_id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        published_date -> Nullable<Date>,
        closing_date -> Nullable<Date>,
        value_gbp -> Nullable<Numeric>,
        status -> Text,
        source -> Text,
        source_url -> Nullable<Text>,
        released_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        retrieved_at -> Nullable<Timestamptz>,
        sync_run_id -> Nullable<Int8>,
    }
}

diesel::table! {
    system_service_areas (system_id, service_area_id) {
        system_id -> Text,
        service_area_id -> Text,
    }
}

diesel::table! {
    systems (id) {
        id -> Text,
        name -> Text,
        supplier_id -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    decision_days (day) {
        day -> Date,
        computed_at -> Timestamptz,
    }
}

diesel::table! {
    watch_cursor (id) {
        id -> Bool,
        last_change_id -> Int8,
    }
}

diesel::table! {
    watch_events (id) {
        id -> Int8,
        watch_id -> Int8,
        event -> Text,
        resource_id -> Text,
        change_id -> Nullable<Int8>,
        record -> Jsonb,
        at -> Timestamptz,
    }
}

diesel::table! {
    watches (id) {
        id -> Int8,
        key_id -> Int8,
        name -> Text,
        resource -> Text,
        filters -> Jsonb,
        feed_token -> Text,
        webhook_url -> Nullable<Text>,
        webhook_secret -> Nullable<Text>,
        from_change_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Int8,
        delivery_id -> Int8,
        at -> Timestamptz,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        duration_ms -> Int4,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        event_id -> Int8,
        watch_id -> Int8,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(api_keys -> boroughs (borough_id));
diesel::joinable!(changes -> api_keys (actor_key_id));
diesel::joinable!(contract_service_areas -> contracts (contract_id));
diesel::joinable!(contract_service_areas -> service_areas (service_area_id));
diesel::joinable!(contracts -> boroughs (borough_id));
diesel::joinable!(contracts -> suppliers (supplier_id));
diesel::joinable!(contracts -> sync_runs (sync_run_id));
diesel::joinable!(contracts -> systems (system_id));
diesel::joinable!(supplier_aliases -> suppliers (supplier_id));
diesel::joinable!(system_service_areas -> service_areas (service_area_id));
diesel::joinable!(system_service_areas -> systems (system_id));
diesel::joinable!(systems -> suppliers (supplier_id));
diesel::joinable!(tender_service_areas -> service_areas (service_area_id));
diesel::joinable!(tender_service_areas -> tenders (tender_id));
diesel::joinable!(tenders -> boroughs (borough_id));
diesel::joinable!(tenders -> sync_runs (sync_run_id));
diesel::joinable!(watch_events -> watches (watch_id));
diesel::joinable!(watches -> api_keys (key_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> watch_events (event_id));
diesel::joinable!(webhook_deliveries -> watches (watch_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    boroughs,
    changes,
    contract_service_areas,
    contracts,
    service_areas,
    supplier_aliases,
    suppliers,
    sync_runs,
    system_service_areas,
    systems,
    tender_service_areas,
    tenders,
    decision_days,
    watch_cursor,
    watch_events,
    watches,
    webhook_attempts,
    webhook_deliveries,
);
