//! The contract filters as query parameters, shared by the contract lists and the insights.

/// Declares a query-parameter struct holding every contract filter plus `$extra` fields, with
/// `criteria()` turning the filters into [`ContractCriteria`](crate::queries::contracts::ContractCriteria).
macro_rules! contract_filter_query {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $type:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Boroughs, by slug or GSS code.
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "camden,E09000019")]
            pub borough: Option<$crate::api::params::CommaList<String>>,
            /// Suppliers holding the contract, by id.
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "civica")]
            pub supplier: Option<$crate::api::params::CommaList<String>>,
            /// Suppliers whose product the contract is for, by id: the system's maker, where
            /// `supplier` is whoever holds the contract (a reseller or integrator, say).
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "civica")]
            pub vendor: Option<$crate::api::params::CommaList<String>>,
            /// Systems, by id.
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
            pub system: Option<$crate::api::params::CommaList<String>>,
            /// Service areas by id; a group matches every area under it.
            #[param(value_type = Option<Vec<String>>, style = Form, explode = false, example = "revenues-and-benefits")]
            pub service_area: Option<$crate::api::params::CommaList<String>>,
            /// Contracts whose end_date is on or after this date.
            #[param(value_type = Option<chrono::NaiveDate>, example = "2026-01-01")]
            pub ends_after: Option<$crate::api::params::QueryDate>,
            /// Contracts whose end_date is on or before this date.
            #[param(value_type = Option<chrono::NaiveDate>, example = "2027-12-31")]
            pub ends_before: Option<$crate::api::params::QueryDate>,
            /// Contracts running on this date (start_date <= date <= end_date).
            #[param(value_type = Option<chrono::NaiveDate>)]
            pub active_on: Option<$crate::api::params::QueryDate>,
            /// Where the system runs.
            #[param(value_type = Option<Vec<$crate::models::Hosting>>, style = Form, explode = false)]
            pub hosting: Option<$crate::api::params::CommaList<$crate::models::Hosting>>,
            /// How the contract was procured.
            #[param(value_type = Option<Vec<$crate::models::ProcurementRoute>>, style = Form, explode = false)]
            pub procurement_route: Option<$crate::api::params::CommaList<$crate::models::ProcurementRoute>>,
            /// Whether the borough can get its own data out without paying extra.
            #[param(value_type = Option<Vec<$crate::models::DataAccess>>, style = Form, explode = false)]
            pub data_access: Option<$crate::api::params::CommaList<$crate::models::DataAccess>>,
            /// Where the record came from.
            #[param(value_type = Option<Vec<$crate::models::Source>>, style = Form, explode = false)]
            pub source: Option<$crate::api::params::CommaList<$crate::models::Source>>,
            /// Smallest annual value in pounds.
            #[param(value_type = Option<String>, pattern = r"^\d+(\.\d+)?$", example = "10000")]
            pub min_annual_value: Option<$crate::api::params::QueryMoney>,
            /// Largest annual value in pounds.
            #[param(value_type = Option<String>, pattern = r"^\d+(\.\d+)?$")]
            pub max_annual_value: Option<$crate::api::params::QueryMoney>,
            /// Words that must each appear in the title, the system's name, the supplier's name or
            /// the name of one of the contract's service areas (`council tax`).
            #[param(example = "revenues")]
            pub q: Option<String>,
            $( $(#[$field_meta])* pub $field: $type, )*
        }

        impl $name {
            /// The filters, as the query layer takes them.
            pub fn criteria(&self) -> $crate::queries::contracts::ContractCriteria {
                fn values<T: Clone>(v: &Option<$crate::api::params::CommaList<T>>) -> Vec<T> {
                    v.as_ref().map(|list| list.0.clone()).unwrap_or_default()
                }
                $crate::queries::contracts::ContractCriteria {
                    borough: values(&self.borough),
                    supplier: values(&self.supplier),
                    vendor: values(&self.vendor),
                    system: values(&self.system),
                    service_area: values(&self.service_area),
                    ends_after: self.ends_after.map(|d| d.0),
                    ends_before: self.ends_before.map(|d| d.0),
                    active_on: self.active_on.map(|d| d.0),
                    hosting: values(&self.hosting),
                    procurement_route: values(&self.procurement_route),
                    data_access: values(&self.data_access),
                    source: values(&self.source),
                    min_annual_value: self.min_annual_value.clone().map(|m| m.0),
                    max_annual_value: self.max_annual_value.clone().map(|m| m.0),
                    words: self
                        .q
                        .as_deref()
                        .map($crate::queries::search_words)
                        .unwrap_or_default(),
                    within: None,
                }
            }
        }
    };
}
pub(crate) use contract_filter_query;

contract_filter_query! {
    /// The contract filters alone, as a watch holds them.
    ContractFilters {}
}
