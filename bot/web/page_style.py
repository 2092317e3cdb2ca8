"""The style sheets of the two HTML pages people read: the case detail page (bot.web.detail) and
the printable dossier (bot.exports). Plain strings, no imports, so either renderer can use them.

Both are laid out for a 390 px phone first and checked in headless Chromium at 390×844 and
1280×800 (tests/web/test_page_layout.py):
- a definition list stacks (label above value) on phones and becomes two columns from 520 px; the
  reply's four parts are always stacked, each as wide as its card;
- long words wrap only where they would overflow (``overflow-wrap: break-word``), never inside an
  ordinary word as ``anywhere`` or ``word-break: break-all`` do ("命令行(ro ot)"), and never make
  the page scroll sideways;
- the dossier keeps a margin on narrow screens; on paper, the A4 page margins apply.
"""

from __future__ import annotations

_FONTS = (
    '-apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",'
    '"Noto Sans SC","Source Han Sans SC","WenQuanYi Micro Hei",system-ui,sans-serif'
)

#: the detail page: one column of cards, mobile first
DETAIL_CSS = (
    """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f3f4f6;color:#1f2328;font:16px/1.65 """
    + _FONTS
    + """;
overflow-wrap:break-word;word-break:normal;line-break:strict}
main{max-width:46rem;margin:0 auto;padding:12px}
header,section,footer{background:#fff;border-radius:10px;padding:14px 16px;margin:0 0 12px;min-width:0}
h1{font-size:1.25rem;line-height:1.45;margin:.2rem 0 .5rem}
h2{font-size:1rem;margin:0 0 .6rem;padding-left:.5rem;border-left:4px solid #c0392b}
.num{margin:0;color:#57606a;font-size:.9rem}
.badges{margin:0;display:flex;flex-wrap:wrap;gap:6px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:.85rem;background:#e8f0fe;color:#1a4fa0;
white-space:nowrap}
.badge.warn{background:#fdecea;color:#b42318}
dl{display:block;margin:0}
dt{color:#57606a;font-size:.875rem;line-height:1.4;margin:10px 0 2px}
dt:first-child{margin-top:0}
dd{display:block;margin:0;min-width:0;width:100%}
@media (min-width:520px){
dl{display:grid;grid-template-columns:6.5em minmax(0,1fr);gap:6px 12px;align-items:baseline}
dt{font-size:1rem;line-height:inherit;margin:0}
dd{grid-column:2}
}
.muted{color:#8c959f}
.private{display:block;color:#8c959f;font-size:.8rem}
.text{white-space:pre-wrap;margin:0}
dl.reply{display:block}
.reply dt{color:#1f2328;font-weight:600;font-size:1rem;line-height:1.5;margin:14px 0 4px}
.reply dt:first-child{margin-top:0}
.reply dd{white-space:pre-wrap}
ol.timeline{list-style:none;margin:0;padding:0}
ol.timeline li{position:relative;padding:0 0 12px 18px;border-left:2px solid #d0d7de;margin-left:5px}
ol.timeline li:last-child{border-left-color:transparent;padding-bottom:0}
ol.timeline li::before{content:"";position:absolute;left:-7px;top:6px;width:12px;height:12px;border-radius:50%;
background:#c0392b}
.when{display:block;color:#57606a;font-size:.85rem}
.step{font-weight:600}
.comment{margin:.2rem 0 0;white-space:pre-wrap}
footer{color:#57606a;font-size:.85rem;background:transparent;padding:4px 16px}
.refusal{padding:32px 20px;margin-top:10vh}
.refusal h1{font-size:1.2rem;text-align:center;margin:0 0 1rem}
.refusal p{margin:0 0 .75rem}
.refusal .todo{background:#f6f8fa;border-radius:8px;padding:10px 12px}
.refusal kbd{font:inherit;font-weight:600;white-space:nowrap}
"""
)

#: the printable dossier: A4 on paper; on a screen, a margin on both sides however narrow
DOSSIER_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", "Noto Serif SC", serif; font-size: 10.5pt;
       line-height: 1.5; color: #000; max-width: 180mm; margin: 0 auto; padding: 8mm 16px;
       overflow-wrap: break-word; word-break: normal; line-break: strict; }
h1 { font-size: 17pt; text-align: center; margin: 0 0 2mm; letter-spacing: 0.2em; }
p.sub { text-align: center; margin: 0 0 6mm; }
@page { @bottom-right { content: "第 " counter(page) " 页"; font-size: 9pt; } }
h2 { font-size: 12pt; margin: 6mm 0 2mm; border-left: 3pt solid #000; padding-left: 2mm;
     break-after: avoid-page; page-break-after: avoid; }
p.check { margin: 1.5mm 0 0; font-weight: bold; }
p.tools { text-align: right; margin: 0; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { border: 0.5pt solid #000; padding: 1.2mm 2mm; vertical-align: top; text-align: left;
         white-space: pre-wrap; overflow-wrap: break-word; word-break: normal; }
th { background: #eee; font-weight: bold; }
table.fields th { width: 30mm; }
table.timeline th:nth-child(1) { width: 18%; }
table.timeline th:nth-child(2) { width: 12%; }
table.timeline th:nth-child(3) { width: 11%; }
table.timeline th:nth-child(5) { width: 16%; }
tr { page-break-inside: avoid; break-inside: avoid; }
thead { display: table-header-group; }
footer { margin-top: 6mm; font-size: 9pt; color: #333; text-align: right; }
@media screen and (max-width: 600px) {
  body { padding: 16px 12px; font-size: 15px; }
  h1 { font-size: 1.3rem; letter-spacing: 0.1em; }
  /* one field per block: the label above its value, both as wide as the page */
  table.fields, table.fields tbody, table.fields tr, table.fields th, table.fields td { display: block; width: 100%; }
  table.fields tr { border: 0.5pt solid #000; border-bottom: 0; }
  table.fields tr:last-child { border-bottom: 0.5pt solid #000; }
  table.fields th, table.fields td { border: 0; }
  table.fields th { padding-bottom: 0.5mm; }
  /* the record: one entry per block, each cell labelled */
  table.timeline, table.timeline tbody, table.timeline tr, table.timeline td { display: block; width: 100%; }
  table.timeline thead { display: none; }
  table.timeline tr { border: 0.5pt solid #000; border-bottom: 0; padding: 1.5mm 0; }
  table.timeline tr:last-child { border-bottom: 0.5pt solid #000; }
  table.timeline td { border: 0; padding: 0.5mm 2mm; }
  table.timeline td:empty { display: none; }
  table.timeline td::before { font-weight: bold; }
  table.timeline td:nth-child(1)::before { content: "时间："; }
  table.timeline td:nth-child(2)::before { content: "环节："; }
  table.timeline td:nth-child(3)::before { content: "办理人："; }
  table.timeline td:nth-child(4)::before { content: "内容："; }
  table.timeline td:nth-child(5)::before { content: "状态变化："; }
}
@media print { body { padding: 0; } th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
               .noprint { display: none; } }
"""
