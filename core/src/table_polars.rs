//! `Table` to polars `DataFrame` (feature `polars`).

use polars::prelude::{Column, DataFrame, DataType, TimeUnit};

use crate::error::{Error, Result};
use crate::table::Table;

impl Table {
    /// Converts the table to a polars `DataFrame`: one string column per table column, except
    /// `walltime` (seconds, `f64`) and `timestart`/`timestop` (UTC datetimes, ns); empty cells
    /// are nulls. The counterpart of Python's "the metadata table is just pandas".
    pub fn to_polars(&self) -> Result<DataFrame> {
        to_polars(self)
    }
}

fn to_polars(table: &Table) -> Result<DataFrame> {
    let err = |e: polars::error::PolarsError| Error::Table {
        detail: e.to_string(),
    };
    let names = table.column_names();
    let cells = table.all_cells();
    let times: Vec<(i64, i64, f64)> = table.times().collect();
    let mut columns = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let column = match name.as_str() {
            "timestart" | "timestop" => {
                let ns: Vec<i64> = times
                    .iter()
                    .map(|t| if name == "timestart" { t.0 } else { t.1 })
                    .collect();
                Column::new(name.as_str().into(), ns)
                    .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
                    .map_err(err)?
            }
            "walltime" => Column::new(
                name.as_str().into(),
                times.iter().map(|t| t.2).collect::<Vec<f64>>(),
            ),
            _ => Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|row| Some(row[i].as_str()).filter(|s| !s.is_empty()))
                    .collect::<Vec<Option<&str>>>(),
            ),
        };
        columns.push(column);
    }
    DataFrame::new(cells.len(), columns).map_err(err)
}
