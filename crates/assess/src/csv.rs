//! A small RFC 4180 CSV reader (quoted fields, doubled quotes, newlines inside quotes),
//! enough for the catalogue files; records keep the line they start on.

/// One record and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the record's first character.
    pub line: usize,
    /// The fields, unquoted.
    pub fields: Vec<String>,
}

/// Parses CSV text into records; blank lines are skipped. Never fails: an unterminated
/// quote runs to the end of the text.
pub fn parse(text: &str) -> Vec<Record> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1usize;
    let mut start = 1usize;
    let mut at_field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                if !(fields.len() == 1 && fields.first().is_some_and(|f| f.is_empty())) {
                    out.push(Record {
                        line: start,
                        fields: std::mem::take(&mut fields),
                    });
                }
                fields.clear();
                line += 1;
                start = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push(Record {
            line: start,
            fields,
        });
    }
    out
}

/// CSV with a header row: each record as (line, column lookup).
pub struct Table {
    header: Vec<String>,
    /// The data records.
    pub rows: Vec<Record>,
}

impl Table {
    /// Splits off the header row.
    pub fn new(text: &str) -> Table {
        let mut recs = parse(text);
        if recs.is_empty() {
            return Table {
                header: Vec::new(),
                rows: Vec::new(),
            };
        }
        let header = recs
            .remove(0)
            .fields
            .into_iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        Table { header, rows: recs }
    }

    /// Whether the header has `name`.
    pub fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h == name)
    }

    /// The value of column `name` in `rec` (trimmed; empty when absent).
    pub fn get<'a>(&self, rec: &'a Record, name: &str) -> &'a str {
        self.header
            .iter()
            .position(|h| h == name)
            .and_then(|i| rec.fields.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_lines() {
        let t = "a,b\n1,\"x, \"\"y\"\"\nz\"\n\n2,3";
        let r = parse(t);
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].fields, vec!["1", "x, \"y\"\nz"]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].line, 5);
        assert_eq!(r[2].fields, vec!["2", "3"]);
    }
}
