//! Explanation templates: text with `{placeholder}`s filled from the alert's facts.

/// Placeholders every alert can fill (besides `fields.PATH` and `details.PATH`).
pub const PLACEHOLDERS: &[&str] = &[
    "src",
    "dst",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "src_zone",
    "dst_zone",
    "src_level",
    "dst_level",
    "protocol",
    "function",
    "function_code",
    "rule",
    "count",
    "distinct",
    "window",
    "old",
    "new",
    "point",
    "register",
    "unit",
    "min",
    "max",
    "max_step",
    "bound",
    "violation",
    "conduit",
    "user",
    "value",
    "anomaly",
    "period",
    "learned_period",
];

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Var(String),
}

impl Template {
    /// Parses `text`; `{{` and `}}` are literal braces. Fails on an unknown or unclosed
    /// placeholder, naming it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    cur.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    cur.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for n in chars.by_ref() {
                        if n == '}' {
                            closed = true;
                            break;
                        }
                        name.push(n);
                    }
                    if !closed {
                        return Err(format!("unclosed placeholder {{{name}"));
                    }
                    let name = name.trim().to_string();
                    let known = PLACEHOLDERS.contains(&name.as_str())
                        || name.strip_prefix("fields.").is_some_and(|s| !s.is_empty())
                        || name.strip_prefix("details.").is_some_and(|s| !s.is_empty());
                    if !known {
                        return Err(format!(
                            "unknown placeholder {{{name}}} (known: {}, fields.PATH, details.PATH)",
                            PLACEHOLDERS.join(", ")
                        ));
                    }
                    if !cur.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut cur)));
                    }
                    parts.push(Part::Var(name));
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            parts.push(Part::Text(cur));
        }
        Ok(Template { parts })
    }

    /// Fills the placeholders; an unknown value reads `?`.
    pub fn render(&self, lookup: &dyn Fn(&str) -> Option<String>) -> String {
        let mut s = String::with_capacity(160);
        for p in &self.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Var(v) => match lookup(v) {
                    Some(x) => s.push_str(&x),
                    None => s.push('?'),
                },
            }
        }
        s
    }

    /// The placeholders used.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render() {
        let t =
            Template::parse("{src} wrote {new} (was {old}) {{literal}} {fields.unit_id}").unwrap();
        let s = t.render(&|k| match k {
            "src" => Some("10.0.0.1".into()),
            "new" => Some("11100".into()),
            "fields.unit_id" => Some("1".into()),
            _ => None,
        });
        assert_eq!(s, "10.0.0.1 wrote 11100 (was ?) {literal} 1");
        assert!(Template::parse("{nope}")
            .unwrap_err()
            .contains("unknown placeholder {nope}"));
        assert!(Template::parse("{src").is_err());
    }
}
