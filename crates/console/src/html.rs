//! HTML building blocks: escaping, the page frame, formatting, and the stylesheet and script
//! served from `/static/` (hand-written, compiled into the binary).
use crate::auth::Role;
use std::fmt::{self, Display, Write as _};

/// Escapes text for HTML element content and quoted attribute values.
pub struct E<'a>(pub &'a str);

impl Display for E<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (i, b) in self.0.bytes().enumerate() {
            let rep = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(self.0.get(last..i).unwrap_or(""))?;
            f.write_str(rep)?;
            last = i + 1;
        }
        f.write_str(self.0.get(last..).unwrap_or(""))
    }
}

/// Escaped text as a `String`.
pub fn esc(s: &str) -> String {
    E(s).to_string()
}

/// Percent-encodes a query or path component.
pub fn url(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// `2021-02-05 13:02:10` (UTC) from nanoseconds since the epoch.
pub fn ts(ns: i64) -> String {
    let s = sluice_policy::format_rfc3339(ns);
    s.replace('T', " ").trim_end_matches('Z').to_string()
}

/// `1,234,567`.
pub fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12.3 MB`.
pub fn bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < U.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U.get(i).unwrap_or(&"B"))
    }
}

/// `2 min 5 s`.
pub fn duration_ns(ns: i64) -> String {
    let s = ns / 1_000_000_000;
    if s >= 3600 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

/// A severity badge.
pub fn severity_badge(class: &str, value: i64) -> String {
    format!(
        "<span class=\"sev sev-{c}\" title=\"severity {value}\">{c}</span>",
        c = E(class)
    )
}

/// What the frame needs to know about the viewer.
pub struct Viewer<'a> {
    pub user: &'a str,
    pub role: Role,
    pub csrf: &'a str,
    pub site: &'a str,
}

/// The navigation: (path, label, lowest role).
const NAV: &[(&str, &str, Role)] = &[
    ("/", "Overview", Role::Viewer),
    ("/map", "Purdue map", Role::Viewer),
    ("/assets", "Assets", Role::Viewer),
    ("/alerts", "Alerts", Role::Viewer),
    ("/flows", "Flows", Role::Viewer),
    ("/policy", "Policy", Role::Viewer),
    ("/compliance", "Compliance", Role::Viewer),
    ("/admin/users", "Users", Role::Admin),
    ("/admin/audit", "Audit log", Role::Admin),
];

/// A whole page in the console's frame.
pub fn page(title: &str, active: &str, v: &Viewer<'_>, body: &str) -> String {
    let mut o = String::with_capacity(body.len() + 4096);
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Sluice</title><link rel=\"stylesheet\" href=\"/static/app.css\">\
         <link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\">\
         <script src=\"/static/app.js\" defer></script></head><body>\
         <header class=\"top\"><a class=\"brand\" href=\"/\">{}<span>Sluice</span></a>\
         <span class=\"site\">{}</span><nav>",
        E(title),
        LOGO,
        E(v.site)
    );
    for (path, label, role) in NAV {
        if v.role < *role {
            continue;
        }
        let cls = if *path == active { " class=\"on\"" } else { "" };
        let _ = write!(o, "<a href=\"{path}\"{cls}>{label}</a>");
    }
    let _ = write!(
        o,
        "</nav><div class=\"who\"><span class=\"user\">{}</span>\
         <span class=\"role role-{r}\">{r}</span>\
         <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button class=\"link\" type=\"submit\">Sign out</button></form></div></header>\
         <main>{}</main></body></html>",
        E(v.user),
        E(v.csrf),
        body,
        r = v.role.as_str(),
    );
    o
}

/// A page outside the frame (login, enrolment, errors before sign-in).
pub fn bare(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Sluice</title><link rel=\"stylesheet\" href=\"/static/app.css\">\
         <link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\"></head>\
         <body class=\"bare\"><main class=\"card-login\"><div class=\"brand big\">{}<span>Sluice</span></div>{}</main></body></html>",
        E(title),
        LOGO,
        body
    )
}

/// The mark: a sluice gate between two levels.
pub const LOGO: &str = "<svg class=\"logo\" viewBox=\"0 0 24 24\" width=\"22\" height=\"22\" aria-hidden=\"true\"><rect x=\"2\" y=\"3\" width=\"4\" height=\"18\" rx=\"1\" fill=\"#4aa3df\"/><rect x=\"18\" y=\"3\" width=\"4\" height=\"18\" rx=\"1\" fill=\"#4aa3df\"/><rect x=\"7\" y=\"6\" width=\"10\" height=\"7\" rx=\"1\" fill=\"#e6e9ec\"/><path d=\"M7 16 q2.5 -2 5 0 t5 0\" stroke=\"#4aa3df\" stroke-width=\"2\" fill=\"none\"/></svg>";

/// Pagination links for a list at `base` (which holds the other query parameters).
pub fn pager(base: &str, page: u32, has_more: bool, total: Option<u64>, per_page: u32) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut o = String::from("<div class=\"pager\">");
    if page > 1 {
        let _ = write!(
            o,
            "<a href=\"{}{sep}page={}\">← Previous</a>",
            E(base),
            page - 1
        );
    }
    let _ = write!(o, "<span>Page {page}");
    if let Some(t) = total {
        let pages = t.div_ceil(u64::from(per_page.max(1))).max(1);
        let _ = write!(o, " of {} · {} rows", num(pages), num(t));
    }
    o.push_str("</span>");
    if has_more {
        let _ = write!(
            o,
            "<a href=\"{}{sep}page={}\">Next →</a>",
            E(base),
            page + 1
        );
    }
    o.push_str("</div>");
    o
}

/// A hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        E(token)
    )
}

/// The stylesheet.
pub const CSS: &str = r#"
:root{--bg:#1b1f24;--panel:#242a31;--panel2:#2c333b;--line:#3a424c;--text:#e6e9ec;--muted:#9aa4ad;
--accent:#4aa3df;--red:#e5484d;--amber:#f0a020;--green:#3fb950;--blue:#4aa3df;--purple:#a371f7}
*{box-sizing:border-box}
html,body{margin:0;padding:0;background:var(--bg);color:var(--text);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
header.top{display:flex;align-items:center;gap:18px;padding:0 18px;height:48px;background:#14181c;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:5}
.brand{display:flex;align-items:center;gap:8px;font-weight:700;font-size:16px;color:var(--text);letter-spacing:.3px}
.brand.big{font-size:24px;justify-content:center;margin-bottom:18px}
.site{color:var(--muted);font-size:13px;border-left:1px solid var(--line);padding-left:14px;white-space:nowrap}
nav{display:flex;gap:2px;flex:1;overflow-x:auto}
nav a{color:var(--muted);padding:13px 10px;border-bottom:2px solid transparent;white-space:nowrap}
nav a:hover{color:var(--text);text-decoration:none}
nav a.on{color:var(--text);border-bottom-color:var(--accent)}
.who{display:flex;align-items:center;gap:8px;font-size:13px;white-space:nowrap}
.who form{margin:0}
.role{font-size:11px;padding:1px 7px;border-radius:9px;background:var(--panel2);color:var(--muted);text-transform:uppercase;letter-spacing:.5px}
.role-admin{color:#f0c674}.role-analyst{color:#8cc8f0}
button,.btn{background:var(--accent);color:#0d1117;border:0;border-radius:5px;padding:6px 12px;font:inherit;font-weight:600;cursor:pointer}
button.secondary,.btn.secondary{background:var(--panel2);color:var(--text);border:1px solid var(--line)}
button.danger{background:var(--red);color:#fff}
button.link{background:none;color:var(--accent);padding:0;font-weight:400}
button:disabled{opacity:.45;cursor:not-allowed}
input,select{background:#14181c;color:var(--text);border:1px solid var(--line);border-radius:5px;padding:6px 8px;font:inherit}
input:focus,select:focus{outline:2px solid var(--accent);outline-offset:-1px}
main{padding:16px 20px;max-width:1600px;margin:0 auto}
h1{font-size:20px;margin:4px 0 14px;font-weight:600}
h2{font-size:15px;margin:0 0 10px;font-weight:600;color:var(--text)}
.sub{color:var(--muted);font-size:13px;font-weight:400;margin-left:8px}
.grid{display:grid;gap:14px}
.g4{grid-template-columns:repeat(4,minmax(0,1fr))}.g3{grid-template-columns:repeat(3,minmax(0,1fr))}
.g2{grid-template-columns:repeat(2,minmax(0,1fr))}.g21{grid-template-columns:2fr 1fr}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:14px 16px;min-width:0;overflow-x:auto;margin-bottom:14px}
.grid>.panel{margin-bottom:0}
.grid{margin-bottom:14px}
td.mono{white-space:nowrap}
.kpi .v{font-size:28px;font-weight:650;line-height:1.1}
.kpi .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.6px}
.kpi .d{color:var(--muted);font-size:12px;margin-top:4px}
.kpi.alarm .v{color:var(--red)}
table{width:100%;border-collapse:collapse}
th{text-align:left;color:var(--muted);font-weight:500;font-size:12px;text-transform:uppercase;letter-spacing:.4px;border-bottom:1px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid #30373f;padding:6px 8px;vertical-align:top}
tr:hover td{background:#283038}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;min-width:64px;text-align:center;font-size:11px;font-weight:700;padding:1px 6px;border-radius:4px;text-transform:uppercase;letter-spacing:.4px}
.sev-critical{background:var(--red);color:#fff}.sev-high{background:#d9731a;color:#fff}
.sev-medium{background:#b8961a;color:#111}.sev-low{background:#3c4650;color:#dfe4e8}
.tag{display:inline-block;font-size:11.5px;padding:0 6px;border-radius:4px;background:var(--panel2);border:1px solid var(--line);margin:1px 2px 1px 0;white-space:nowrap}
.tag.bad{border-color:var(--red);color:#ff8a8d}
.tag.ok{border-color:#2f6f3a;color:#7ee08f}
.muted{color:var(--muted)}.bad{color:#ff6b6f}.ok{color:var(--green)}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:12px}
.filters label{color:var(--muted);font-size:12px;display:flex;gap:6px;align-items:center}
.pager{display:flex;gap:14px;align-items:center;justify-content:flex-end;margin-top:10px;color:var(--muted);font-size:13px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
pre.json{background:#14181c;border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;max-height:460px;font-size:12px}
.notice{background:#2a2410;border:1px solid #6b5514;color:#f3d98b;border-radius:6px;padding:10px 12px;margin-bottom:12px}
.error{background:#2d1517;border:1px solid #7c2a2e;color:#ffb4b6;border-radius:6px;padding:10px 12px;margin-bottom:12px}
.success{background:#132a18;border:1px solid #2f6f3a;color:#a6f0b4;border-radius:6px;padding:10px 12px;margin-bottom:12px}
.inline{display:inline-flex;gap:6px;align-items:center;margin:0}
body.bare{display:flex;min-height:100vh;align-items:center;justify-content:center}
.card-login{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:28px 32px;width:400px;max-width:94vw}
.card-login h1{text-align:center}
.card-login form{display:flex;flex-direction:column;gap:12px}
.card-login label{display:flex;flex-direction:column;gap:4px;color:var(--muted);font-size:13px}
.card-login input{font-size:15px;padding:9px 10px}
.card-login button{padding:10px;font-size:15px}
.card-login .qr{background:#fff;border-radius:6px;padding:8px;display:flex;justify-content:center}
.card-login .qr svg{width:220px;height:220px}
.uri{word-break:break-all;font-size:11.5px;color:var(--muted)}
.chart svg{width:100%;height:auto;display:block}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted);margin-top:6px;flex-wrap:wrap}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.i-low{background:#5f6b76}.i-medium{background:#c9a227}.i-high{background:#e07b24}.i-critical{background:#e5484d}
.i-ok{background:#6d8597}.i-bad{background:#e5484d}.i-conduit{background:none;border:1px dashed #8aa4b8}
.mapwrap{position:relative;background:#161a1e;border:1px solid var(--line);border-radius:8px;overflow:hidden}
.mapwrap svg{width:100%;height:auto;display:block;cursor:grab;user-select:none;touch-action:none}
.mapwrap svg.dragging{cursor:grabbing}
.mapctl{position:absolute;right:10px;top:10px;display:flex;flex-direction:column;gap:4px;z-index:2}
.mapctl button{width:32px;height:32px;padding:0;font-size:18px;background:var(--panel2);color:var(--text);border:1px solid var(--line)}
.edge{fill:none}
.edge.ok{stroke:#6d8597;stroke-opacity:.55}
.edge.violation{stroke:#e5484d;stroke-opacity:.95}
.edge:hover{stroke-opacity:1;stroke-width:4}
.matrix td,.matrix th{text-align:center;border:1px solid var(--line)}
.matrix th.rowh{text-align:right}
.matrix td{min-width:110px;font-size:12px}
.matrix td.allowed{background:#15261a}
.matrix td.viol{background:#361a1c}
.matrix td.diag{background:#1f252b}
.cell-seen{margin-top:3px}
.bar{display:block;height:6px;border-radius:3px;background:#4aa3df}
tr.on td{background:#22303b}
@media (max-width:1100px){.g4{grid-template-columns:repeat(2,minmax(0,1fr))}.g21,.g3{grid-template-columns:1fr}}
"#;

/// The script: map zoom and pan, confirmations, auto-submit filters. No third-party code.
pub const JS: &str = r#"
(function(){
  'use strict';
  function setupMap(svg){
    var vb=svg.viewBox.baseVal, base={x:vb.x,y:vb.y,w:vb.width,h:vb.height};
    var view={x:vb.x,y:vb.y,w:vb.width,h:vb.height};
    function apply(){svg.setAttribute('viewBox',view.x+' '+view.y+' '+view.w+' '+view.h);}
    function zoom(f,cx,cy){
      var nw=Math.min(Math.max(view.w*f,base.w/12),base.w*3), nh=nw*base.h/base.w;
      if(cx===undefined){cx=view.x+view.w/2;cy=view.y+view.h/2;}
      view.x=cx-(cx-view.x)*nw/view.w; view.y=cy-(cy-view.y)*nh/view.h; view.w=nw; view.h=nh; apply();
    }
    function pt(e){var r=svg.getBoundingClientRect();
      var s=Math.max(view.w/r.width,view.h/r.height);
      var ox=(r.width*s-view.w)/2, oy=(r.height*s-view.h)/2;
      return {x:view.x-ox+(e.clientX-r.left)*s,y:view.y-oy+(e.clientY-r.top)*s,s:s};}
    svg.addEventListener('wheel',function(e){e.preventDefault();var p=pt(e);zoom(e.deltaY<0?0.85:1/0.85,p.x,p.y);},{passive:false});
    var drag=null;
    svg.addEventListener('pointerdown',function(e){if(e.button!==0)return;drag={x:e.clientX,y:e.clientY,vx:view.x,vy:view.y,s:pt(e).s,moved:false};});
    window.addEventListener('pointermove',function(e){if(!drag)return;var dx=e.clientX-drag.x,dy=e.clientY-drag.y;
      if(Math.abs(dx)+Math.abs(dy)>3){drag.moved=true;svg.classList.add('dragging');}
      view.x=drag.vx-dx*drag.s;view.y=drag.vy-dy*drag.s;apply();});
    window.addEventListener('pointerup',function(){if(drag&&drag.moved){svg.dataset.justDragged='1';setTimeout(function(){delete svg.dataset.justDragged;},50);}drag=null;svg.classList.remove('dragging');});
    svg.addEventListener('click',function(e){if(svg.dataset.justDragged){e.preventDefault();e.stopPropagation();}},true);
    var ctl=document.querySelectorAll('[data-zoom]');
    for(var i=0;i<ctl.length;i++){ctl[i].addEventListener('click',function(e){var z=this.getAttribute('data-zoom');
      if(z==='in')zoom(0.75);else if(z==='out')zoom(1/0.75);else{view={x:base.x,y:base.y,w:base.w,h:base.h};apply();}});}
  }
  document.addEventListener('DOMContentLoaded',function(){
    var m=document.getElementById('purdue');if(m)setupMap(m);
    var c=document.querySelectorAll('form[data-confirm]');
    for(var i=0;i<c.length;i++){c[i].addEventListener('submit',function(e){if(!window.confirm(this.getAttribute('data-confirm')))e.preventDefault();});}
    var a=document.querySelectorAll('select[data-autosubmit],input[type=checkbox][data-autosubmit]');
    for(var j=0;j<a.length;j++){a[j].addEventListener('change',function(){this.form.submit();});}
  });
})();
"#;

/// The favicon.
pub const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\"><rect width=\"24\" height=\"24\" rx=\"4\" fill=\"#1b1f24\"/><rect x=\"2\" y=\"3\" width=\"4\" height=\"18\" rx=\"1\" fill=\"#4aa3df\"/><rect x=\"18\" y=\"3\" width=\"4\" height=\"18\" rx=\"1\" fill=\"#4aa3df\"/><rect x=\"7\" y=\"6\" width=\"10\" height=\"7\" rx=\"1\" fill=\"#e6e9ec\"/></svg>";
