//! Plain-text tables with aligned columns (the reports are read in terminals and
//! pasted into Markdown, so the output is also a valid Markdown table).

pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header.to_vec());
    out += &line(widths.iter().map(|_| "").collect::<Vec<_>>()).replace(' ', "-");
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns_as_markdown() {
        let out = super::render(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(out, "| a   | bb |\n|-----|----|\n| xyz | 1  |\n");
    }
}
