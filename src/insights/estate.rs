//! The estate: which systems, from which suppliers, each borough uses in each service area (the
//! borough × service-area matrix of the dashboard this project descends from).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::queries::insights::{EstateRow, NamedRow};

/// The systems shown in a cell; the rest are counted in `other_systems`.
pub const SYSTEMS_PER_CELL: usize = 3;

/// What the matrix's columns are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EstateLevel {
    /// The top-level groups of service areas (the default).
    #[default]
    Group,
    /// The service areas themselves.
    Area,
}

/// A column of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EstateColumn {
    pub id: String,
    pub name: String,
    /// The group the area belongs to; null for a group.
    pub parent_id: Option<String>,
}

/// A system serving a borough in a service area.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CellSystem {
    /// Null for contracts that name no system (the supplier stands for it).
    pub system_id: Option<String>,
    pub system_name: Option<String>,
    pub supplier_id: String,
    pub supplier_name: String,
    pub contracts: i64,
}

/// A cell of the matrix: one borough in one service area (or group).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EstateCell {
    pub borough_id: String,
    pub borough_name: String,
    pub service_area_id: String,
    pub service_area_name: String,
    /// The matching contracts in the cell.
    pub contracts: i64,
    /// At most three, most contracts first (ties by system, then supplier id).
    pub systems: Vec<CellSystem>,
    /// Systems in the cell beyond those listed.
    pub other_systems: i64,
}

/// Where a page of the matrix's rows is among all of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct EstateMeta {
    /// The boroughs with matching contracts, whose rows are paged by name.
    pub total: usize,
    pub page: u32,
    /// Boroughs per page.
    pub per_page: u32,
}

/// The borough × service-area matrix, a page of boroughs at a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct Estate {
    pub level: EstateLevel,
    /// The columns with at least one cell, by group and then name.
    pub service_areas: Vec<EstateColumn>,
    /// The non-empty cells of the page's boroughs, by borough name and then column.
    pub items: Vec<EstateCell>,
    pub meta: EstateMeta,
    /// Contracts that contributed, by source; `illustrative` ones are invented for demonstration.
    #[schema(example = json!({"illustrative": 709}))]
    pub sources: BTreeMap<String, i64>,
}

/// The ids the matrix needs names for, as [`crate::queries::insights::names`] takes them:
/// boroughs, service areas, suppliers and systems of the rows a cell lists.
pub fn ids_to_name(rows: &[EstateRow]) -> [Vec<String>; 4] {
    let mut ids: [Vec<String>; 4] = Default::default();
    for (index, row) in shown(rows) {
        if index == 0 {
            ids[0].push(row.borough_id.clone());
            ids[1].push(row.service_area_id.clone());
        }
        ids[2].push(row.supplier_id.clone());
        if let Some(system) = &row.system_id {
            ids[3].push(system.clone());
        }
    }
    for list in &mut ids {
        list.sort();
        list.dedup();
    }
    ids
}

/// The rows a cell lists, each with its place in its cell (rows come most contracts first
/// within each borough and area).
fn shown(rows: &[EstateRow]) -> impl Iterator<Item = (usize, &EstateRow)> {
    let mut place = 0;
    rows.iter().enumerate().filter_map(move |(at, row)| {
        let same_cell = at > 0 && {
            let before = &rows[at - 1];
            before.borough_id == row.borough_id && before.service_area_id == row.service_area_id
        };
        place = if same_cell { place + 1 } else { 0 };
        (place < SYSTEMS_PER_CELL).then_some((place, row))
    })
}

/// The matrix from its rows (as [`crate::queries::insights::estate`] orders them) and the
/// names of what they name.
pub fn matrix(rows: Vec<EstateRow>, names: Vec<NamedRow>) -> (Vec<EstateColumn>, Vec<EstateCell>) {
    let named: HashMap<(&str, &str), &NamedRow> = names
        .iter()
        .map(|row| ((row.kind.as_str(), row.id.as_str()), row))
        .collect();
    let name = |kind: &str, id: &str| {
        named
            .get(&(kind, id))
            .map_or_else(|| id.to_string(), |row| row.name.clone())
    };
    let mut cells: Vec<EstateCell> = Vec::new();
    for row in &rows {
        let fresh = cells.last().is_none_or(|cell| {
            cell.borough_id != row.borough_id || cell.service_area_id != row.service_area_id
        });
        if fresh {
            cells.push(EstateCell {
                borough_id: row.borough_id.clone(),
                borough_name: name("boroughs", &row.borough_id),
                service_area_id: row.service_area_id.clone(),
                service_area_name: name("service_areas", &row.service_area_id),
                contracts: 0,
                systems: Vec::new(),
                other_systems: 0,
            });
        }
        let cell = cells.last_mut().expect("a cell was pushed");
        cell.contracts += row.contracts;
        if cell.systems.len() < SYSTEMS_PER_CELL {
            cell.systems.push(CellSystem {
                system_id: row.system_id.clone(),
                system_name: row.system_id.as_deref().map(|id| name("systems", id)),
                supplier_id: row.supplier_id.clone(),
                supplier_name: name("suppliers", &row.supplier_id),
                contracts: row.contracts,
            });
        } else {
            cell.other_systems += 1;
        }
    }
    let group_name = |row: &NamedRow| match &row.parent_id {
        Some(parent) => name("service_areas", parent),
        None => row.name.clone(),
    };
    let used: std::collections::HashSet<&str> = cells
        .iter()
        .map(|cell| cell.service_area_id.as_str())
        .collect();
    let mut columns: Vec<(String, EstateColumn)> = names
        .iter()
        .filter(|row| row.kind == "service_areas" && used.contains(row.id.as_str()))
        .map(|row| {
            let column = EstateColumn {
                id: row.id.clone(),
                name: row.name.clone(),
                parent_id: row.parent_id.clone(),
            };
            (group_name(row), column)
        })
        .collect();
    columns.sort_by(|(a_group, a), (b_group, b)| {
        (a_group, a.parent_id.is_some(), &a.name).cmp(&(b_group, b.parent_id.is_some(), &b.name))
    });
    let order: HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .map(|(at, (_, column))| (column.id.as_str(), at))
        .collect();
    cells.sort_by(|a, b| {
        (&a.borough_name, order.get(a.service_area_id.as_str()))
            .cmp(&(&b.borough_name, order.get(b.service_area_id.as_str())))
    });
    (
        columns.into_iter().map(|(_, column)| column).collect(),
        cells,
    )
}

/// The columns of the estate as CSV: one row per cell, its top systems joined with `|`.
pub const CSV_COLUMNS: &[&str] = &[
    "borough_id",
    "borough_name",
    "service_area_id",
    "service_area_name",
    "contracts",
    "system_ids",
    "system_names",
    "supplier_ids",
    "supplier_names",
    "other_systems",
];

/// A row of the estate's CSV.
#[derive(Debug, Serialize)]
pub struct CsvCell<'a> {
    borough_id: &'a str,
    borough_name: &'a str,
    service_area_id: &'a str,
    service_area_name: &'a str,
    contracts: i64,
    system_ids: String,
    system_names: String,
    supplier_ids: String,
    supplier_names: String,
    other_systems: i64,
}

/// The cells as CSV rows.
pub fn csv_rows(cells: &[EstateCell]) -> Vec<CsvCell<'_>> {
    let joined = |cell: &EstateCell, part: fn(&CellSystem) -> &str| {
        cell.systems.iter().map(part).collect::<Vec<_>>().join("|")
    };
    cells
        .iter()
        .map(|cell| CsvCell {
            borough_id: &cell.borough_id,
            borough_name: &cell.borough_name,
            service_area_id: &cell.service_area_id,
            service_area_name: &cell.service_area_name,
            contracts: cell.contracts,
            system_ids: joined(cell, |s| s.system_id.as_deref().unwrap_or("")),
            system_names: joined(cell, |s| s.system_name.as_deref().unwrap_or("")),
            supplier_ids: joined(cell, |s| &s.supplier_id),
            supplier_names: joined(cell, |s| &s.supplier_name),
            other_systems: cell.other_systems,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(borough: &str, area: &str, system: Option<&str>, contracts: i64) -> EstateRow {
        EstateRow {
            borough_id: borough.into(),
            service_area_id: area.into(),
            system_id: system.map(Into::into),
            supplier_id: format!("{}-ltd", system.unwrap_or("nosys")),
            contracts,
        }
    }

    fn named(kind: &str, id: &str, name: &str, parent: Option<&str>) -> NamedRow {
        NamedRow {
            kind: kind.into(),
            id: id.into(),
            name: name.into(),
            parent_id: parent.map(Into::into),
        }
    }

    fn rows() -> Vec<EstateRow> {
        vec![
            row("camden", "waste", Some("a"), 4),
            row("camden", "waste", Some("b"), 3),
            row("camden", "waste", None, 2),
            row("camden", "waste", Some("c"), 1),
            row("camden", "waste", Some("d"), 1),
            row("barnet", "tax", Some("a"), 1),
        ]
    }

    #[test]
    fn a_cell_lists_three_systems_and_counts_the_rest() {
        let names = vec![
            named("boroughs", "camden", "Camden", None),
            named("boroughs", "barnet", "Barnet", None),
            named("systems", "a", "Alpha", None),
        ];
        let (_, cells) = matrix(rows(), names);
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0].borough_name, "Barnet", "by borough name");
        let camden = &cells[1];
        assert_eq!(camden.contracts, 11);
        assert_eq!(camden.systems.len(), 3);
        assert_eq!(camden.other_systems, 2);
        assert_eq!(camden.systems[0].system_name.as_deref(), Some("Alpha"));
        assert_eq!(camden.systems[2].system_id, None);
        assert_eq!(camden.systems[2].system_name, None);
        assert_eq!(
            camden.systems[1].system_name.as_deref(),
            Some("b"),
            "an unnamed id stands for itself"
        );
    }

    #[test]
    fn only_listed_rows_need_names() {
        let [boroughs, areas, suppliers, systems] = ids_to_name(&rows());
        assert_eq!(boroughs, ["barnet", "camden"]);
        assert_eq!(areas, ["tax", "waste"]);
        assert_eq!(systems, ["a", "b"]);
        assert_eq!(suppliers, ["a-ltd", "b-ltd", "nosys-ltd"]);
    }

    #[test]
    fn columns_follow_their_groups() {
        let names = vec![
            named("service_areas", "waste", "Waste", Some("streets")),
            named("service_areas", "tax", "Council tax", Some("revenues")),
            named("service_areas", "revenues", "Revenues", None),
            named("service_areas", "streets", "Environment and streets", None),
        ];
        let rows = ["waste", "streets", "tax", "revenues"]
            .map(|area| row("camden", area, Some("a"), 1))
            .to_vec();
        let (columns, _) = matrix(rows, names.clone());
        let ids: Vec<&str> = columns.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["streets", "waste", "revenues", "tax"]);
        let (columns, _) = matrix(vec![row("camden", "tax", Some("a"), 1)], names);
        assert_eq!(columns.len(), 1, "only columns with a cell: {columns:?}");
    }

    #[test]
    fn csv_joins_a_cells_systems() {
        let (_, cells) = matrix(rows(), Vec::new());
        let csv = csv_rows(&cells);
        assert_eq!(csv[1].system_ids, "a|b|");
        assert_eq!(csv[1].supplier_ids, "a-ltd|b-ltd|nosys-ltd");
    }
}
