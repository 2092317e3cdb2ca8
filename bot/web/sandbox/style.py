"""The sandbox pages' style sheet: a phone first (390 px), two columns from 900 px."""

from __future__ import annotations

from bot.web.page_style import DETAIL_CSS

SANDBOX_CSS = (
    DETAIL_CSS
    + """
main{max-width:72rem}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:8px 12px;background:#1f6f43;color:#fff;border-radius:10px;
padding:10px 14px;margin:0 0 12px}
.top a{color:#fff}
.top h1{font-size:1.1rem;margin:0;flex:1 1 auto}
.top .clock{font-size:.9rem;white-space:nowrap}
.notice{background:#fff8e1;border-radius:10px;padding:10px 14px;margin:0 0 12px;font-size:.9rem}
.layout{display:block}
@media (min-width:900px){.layout{display:grid;grid-template-columns:minmax(0,1fr) 22rem;gap:12px;align-items:start}}
.people{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:8px}
.people a{display:block;background:#f6f8fa;border-radius:8px;padding:8px 10px;text-decoration:none;color:inherit}
.people a:hover{background:#e8f0fe}
.people .name{font-weight:600}
.people .roles{display:block;color:#57606a;font-size:.8rem}
.people .count{float:right;background:#c0392b;color:#fff;border-radius:999px;font-size:.75rem;padding:0 7px}
.chatbox{background:#ededed;border-radius:10px;padding:0;margin:0 0 12px;display:flex;flex-direction:column;
height:calc(100vh - 190px);min-height:360px}
#chat{list-style:none;margin:0;padding:12px;overflow-y:auto;flex:1 1 auto}
.msg{margin:0 0 14px;display:flex;flex-direction:column;align-items:flex-start}
.msg.mine{align-items:flex-end}
.msg .meta{font-size:.75rem;color:#8c959f;margin:0 0 2px}
.msg .to{margin-right:6px;color:#57606a}
.bubble{background:#fff;border-radius:8px;padding:8px 12px;max-width:min(34rem,88%);white-space:pre-wrap}
.mine .bubble{background:#95ec69}
.bubble.md{white-space:normal}
.bubble img{max-width:100%;height:auto}
.md-h{font-weight:700}
.md-quote{color:#57606a;border-left:3px solid #d0d7de;padding-left:8px}
.md-gap{height:.5em}
.font-info{color:#1a7f37}.font-comment{color:#8c959f}.font-warning{color:#d4690c}
.card{background:#fff;border-radius:8px;padding:10px 14px;width:min(24rem,92%);border:1px solid #e1e4e8}
.card-source{font-size:.75rem;color:#1f6f43}
.card-title{font-weight:700;font-size:1.05rem;line-height:1.4}
.card-desc{color:#57606a;font-size:.85rem}
.card-sub{margin:.4rem 0;white-space:pre-wrap;font-size:.9rem}
.card-fields{display:grid;grid-template-columns:4.5em minmax(0,1fr);gap:2px 8px;margin:.4rem 0;font-size:.85rem}
.card-fields dt{color:#8c959f;margin:0;font-size:.85rem}
.card-fields dd{grid-column:2;margin:0}
.card-link{font-size:.85rem;margin:.3rem 0}
.card-buttons{display:flex;flex-wrap:wrap;gap:8px;margin-top:.5rem}
.btn{font:inherit;font-size:.9rem;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;padding:6px 12px;
cursor:pointer;flex:1 1 auto;min-height:36px}
.btn.primary{background:#1f6f43;border-color:#1f6f43;color:#fff}
.btn.danger{color:#b42318}
.btn:disabled{opacity:.5;cursor:default}
.card.closed{background:#f6f8fa;color:#8c959f}
.card-done{margin-top:.5rem;text-align:center;background:#eaeef2;border-radius:6px;padding:6px;color:#57606a}
form.say{display:flex;gap:8px;padding:8px;background:#f7f7f7;border-radius:0 0 10px 10px}
form.say input{flex:1 1 auto;min-width:0;font:inherit;padding:8px;border:1px solid #d0d7de;border-radius:6px}
.quick{display:flex;flex-wrap:wrap;gap:6px;padding:6px 8px 0;background:#f7f7f7}
.quick .btn{flex:0 0 auto;font-size:.8rem;padding:3px 10px;min-height:30px}
.panel label{display:block;font-size:.875rem;color:#57606a;margin:8px 0 2px}
.panel input,.panel select,.panel textarea{width:100%;font:inherit;padding:6px 8px;border:1px solid #d0d7de;
border-radius:6px;background:#fff}
.panel textarea{min-height:5em}
.panel .row{display:flex;gap:8px;flex-wrap:wrap;align-items:center}
.panel .row .btn{flex:0 0 auto}
.panel .check{display:flex;gap:6px;align-items:center;color:#1f2328}
.panel .check input{width:auto}
#toast{position:fixed;left:50%;bottom:16px;transform:translateX(-50%);background:#1f2328;color:#fff;
padding:8px 14px;border-radius:8px;max-width:90vw;font-size:.9rem;display:none;z-index:9}
#toast.show{display:block}
.steps{margin:0;padding-left:1.3em}
.steps li{margin:0 0 4px}
"""
)
