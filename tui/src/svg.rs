//! Renders a ratatui buffer as an SVG picture with its colours: the screenshots in
//! `screenshots/` come from the real drawing code through this, never by hand.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: f32 = 8.4;
const CELL_H: f32 = 18.0;
const FG: &str = "#d8dee9";
const BG: &str = "#1f2330";

fn hex(c: Color, default: &'static str) -> String {
    let named = match c {
        Color::Reset => default,
        Color::Black => "#1f2330",
        Color::Red => "#e06c75",
        Color::Green => "#98c379",
        Color::Yellow => "#e5c07b",
        Color::Blue => "#61afef",
        Color::Magenta => "#c678dd",
        Color::Cyan => "#56b6c2",
        Color::Gray => "#abb2bf",
        Color::DarkGray => "#6b7385",
        Color::LightRed => "#ff7b86",
        Color::LightGreen => "#b5e890",
        Color::LightYellow => "#ffd98e",
        Color::LightBlue => "#8cc8ff",
        Color::LightMagenta => "#e0a0ff",
        Color::LightCyan => "#8be9fd",
        Color::White => "#ffffff",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => return format!("#{i:02x}{i:02x}{i:02x}"),
    };
    named.to_owned()
}

/// Text for an SVG `<text>` element: the notebook display's HTML escaping, with control
/// characters blanked first, since XML does not allow most of them even escaped.
fn escape(s: &str) -> String {
    let blanked: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    fleche::display::escape_html(&blanked)
}

/// The buffer as a standalone SVG document.
pub fn to_svg(buffer: &Buffer) -> String {
    let area = buffer.area;
    let (w, h) = (
        f32::from(area.width) * CELL_W,
        f32::from(area.height) * CELL_H,
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" viewBox="-12 -12 {:.1} {:.1}">"#,
        w + 24.0,
        h + 24.0,
        w + 24.0,
        h + 24.0
    );
    let _ = writeln!(
        out,
        r#"<rect x="-12" y="-12" width="{:.1}" height="{:.1}" rx="8" fill="{BG}"/>"#,
        w + 24.0,
        h + 24.0
    );
    let _ = writeln!(
        out,
        r#"<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14px" xml:space="preserve">"#
    );
    for y in 0..area.height {
        // Runs of cells with the same style.
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(area.x + x, area.y + y)];
            let style = (cell.fg, cell.bg, cell.modifier);
            let mut text = String::new();
            let start = x;
            while x < area.width {
                let c = &buffer[(area.x + x, area.y + y)];
                if (c.fg, c.bg, c.modifier) != style {
                    break;
                }
                text.push_str(c.symbol());
                x += 1;
            }
            let (mut fg, mut bg) = (hex(style.0, FG), hex(style.1, BG));
            if style.2.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
                if style.1 == Color::Reset {
                    fg = BG.to_owned();
                }
                if style.0 == Color::Reset {
                    bg = FG.to_owned();
                }
            }
            let (px, py) = (f32::from(start) * CELL_W, f32::from(y) * CELL_H);
            let len = f32::from(x - start) * CELL_W;
            if bg != BG {
                let _ = writeln!(
                    out,
                    r#"<rect x="{px:.1}" y="{py:.1}" width="{len:.1}" height="{CELL_H}" fill="{bg}"/>"#
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let weight = if style.2.contains(Modifier::BOLD) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let escaped = escape(&text);
            let _ = writeln!(
                out,
                r#"<text x="{px:.1}" y="{:.1}" fill="{fg}"{weight} textLength="{len:.1}" lengthAdjust="spacingAndGlyphs">{escaped}</text>"#,
                py + CELL_H * 0.75
            );
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_control_characters_blanked() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}'d'>"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
    }
}
