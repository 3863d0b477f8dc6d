//! `report.html`: the markdown report rendered to one self-contained page (pulldown-cmark, with
//! tables), every chart inlined as SVG and the styles in the page: it opens from a CI artifact
//! or a mail attachment without fetching anything.

use pulldown_cmark::{html, Options, Parser};

/// The page for `markdown`, with `charts` (file name, SVG text) inlined where the markdown
/// shows them as images.
pub fn page(markdown: &str, charts: &[(&str, String)]) -> String {
    let mut body = String::new();
    html::push_html(&mut body, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    for (name, svg) in charts {
        body = inline_image(&body, name, svg);
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Server design comparison</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// Replaces every `<img src="NAME" ...>` in `html` by the SVG itself.
fn inline_image(html: &str, name: &str, svg: &str) -> String {
    let needle = format!("<img src=\"{name}\"");
    let mut out = String::with_capacity(html.len() + svg.len());
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find('>').map_or(tail.len(), |e| e + 1);
        out.push_str("<figure class=\"chart\">");
        out.push_str(svg.trim());
        out.push_str("</figure>");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;\
color:#222;line-height:1.45}table{border-collapse:collapse;margin:1em 0;font-size:13px;display:block;\
overflow-x:auto}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;white-space:nowrap}\
th:nth-child(2),td:nth-child(2),th:first-child,td:first-child{text-align:left}thead{background:#f2f2f2}\
tbody tr:nth-child(even){background:#fafafa}code{background:#f4f4f4;padding:0 3px;border-radius:3px}\
figure.chart{margin:1em 0;overflow-x:auto}figure.chart svg{max-width:100%;height:auto}h1,h2{border-bottom:1px solid #ddd}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_and_charts_are_inlined() {
        let md = "# T\n\n| a | b |\n|---|---:|\n| x | 1 |\n\n![chart](c.svg)\n";
        let page = page(md, &[("c.svg", "<svg><rect/></svg>".into())]);
        assert!(
            page.contains("<table>") && page.contains("<td>x</td>"),
            "{page}"
        );
        assert!(
            page.contains("<figure class=\"chart\"><svg><rect/></svg></figure>"),
            "{page}"
        );
        assert!(!page.contains("<img"), "no image left to fetch: {page}");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "nothing fetched"
        );
    }
}
