//! Where things are on the screen: the rows each screen's body gets, the table's columns at a
//! width, and the window of rows that keeps a selection in view. Drawing and mouse clicks use
//! the same numbers, so a click lands on what was drawn there.

use crate::calls::Column;

/// Rows of the table body for a terminal of this height (title, header, status, hints).
pub fn table_height(rows: u16) -> usize {
    rows.saturating_sub(4) as usize
}

/// Rows of the tree for a terminal of this height (title, status, hints).
pub fn tree_height(rows: u16) -> usize {
    rows.saturating_sub(3) as usize
}

/// The screen row of the table's header (below the title bar); the body starts below it.
pub const HEADER_ROW: u16 = 1;

/// The columns shown at this width, with their widths (narrow terminals drop module, then
/// tags); `optional` adds the layer column after the key and the CPU column after the wall
/// time.
pub fn columns(width: u16, optional: &[Column]) -> Vec<(Column, u16)> {
    let mut shown: Vec<Column> = Vec::with_capacity(Column::ALL.len() + optional.len());
    for c in Column::ALL {
        shown.push(c);
        match c {
            Column::Key if optional.contains(&Column::Layer) => shown.push(Column::Layer),
            Column::Wall if optional.contains(&Column::Cpu) => shown.push(Column::Cpu),
            _ => {}
        }
    }
    if width < 110 {
        shown.retain(|&c| c != Column::Module);
    }
    if width < 80 {
        shown.retain(|&c| c != Column::Tags);
    }
    let fixed = |c: Column| match c {
        Column::Key => Some(8),
        Column::Started => Some(19),
        Column::Wall => Some(8),
        Column::Size => Some(8),
        Column::Layer => Some(8),
        Column::Cpu => Some(8),
        _ => None,
    };
    let spacing = shown.len().saturating_sub(1) as u16;
    let fixed_total: u16 = shown.iter().filter_map(|&c| fixed(c)).sum();
    let rest = width.saturating_sub(fixed_total + spacing);
    let weight = |c: Column| match c {
        Column::Function => 4,
        Column::Module => 2,
        Column::Tags => 3,
        Column::Result => 2,
        _ => 0,
    };
    let total_weight: u16 = shown.iter().map(|&c| weight(c)).sum::<u16>().max(1);
    let mut out: Vec<(Column, u16)> = shown
        .iter()
        .map(|&c| (c, fixed(c).unwrap_or(rest * weight(c) / total_weight)))
        .collect();
    // Give rounding leftovers to the function column.
    let used: u16 = out.iter().map(|(_, w)| w).sum::<u16>() + spacing;
    if let Some(f) = out.iter_mut().find(|(c, _)| *c == Column::Function) {
        f.1 += width.saturating_sub(used);
    }
    out
}

/// The column drawn at screen column `x` of a table this wide (a column owns the space after
/// it).
pub fn column_at(width: u16, optional: &[Column], x: u16) -> Option<Column> {
    let mut left = 0u16;
    for (c, w) in columns(width, optional) {
        if x >= left && x < left + w + 1 {
            return Some(c);
        }
        left += w + 1;
    }
    None
}

/// Moves an index by `d` within `0..n`.
pub fn step(i: usize, d: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (i as isize + d).clamp(0, n as isize - 1) as usize
}

/// The first row to show so that `selected` is visible in a window of `height` rows.
pub fn keep_visible(selected: usize, offset: usize, height: usize, len: usize) -> usize {
    let height = height.max(1);
    let mut offset = offset.min(len.saturating_sub(height));
    if selected < offset {
        offset = selected;
    } else if selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_keeps_the_selection_visible() {
        assert_eq!(keep_visible(0, 0, 10, 100), 0);
        assert_eq!(keep_visible(15, 0, 10, 100), 6);
        assert_eq!(keep_visible(3, 6, 10, 100), 3);
        assert_eq!(keep_visible(5, 90, 10, 8), 0);
    }

    #[test]
    fn clicks_find_the_column_drawn_there() {
        for optional in [&[][..], &[Column::Layer, Column::Cpu]] {
            let cols = columns(120, optional);
            assert_eq!(cols.len(), 8 + optional.len());
            let mut left = 0;
            for &(c, w) in &cols {
                assert_eq!(column_at(120, optional, left), Some(c));
                assert_eq!(
                    column_at(120, optional, left + w),
                    Some(c),
                    "the space after {c:?}"
                );
                left += w + 1;
            }
            assert_eq!(column_at(120, optional, left), None);
            assert_eq!(cols.iter().map(|(_, w)| w + 1).sum::<u16>(), 121);
        }
    }

    #[test]
    fn the_layer_follows_the_key_and_cpu_the_wall_time() {
        let names: Vec<Column> = columns(160, &[Column::Cpu, Column::Layer])
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        assert_eq!(names[..2], [Column::Key, Column::Layer]);
        let wall = names.iter().position(|&c| c == Column::Wall).unwrap();
        assert_eq!(names[wall + 1], Column::Cpu);
    }
}
