"""Write the hand-written Word (.docx) sample notices with python-docx.

    python samples/word/make_docx.py            # writes samples/word/*.docx (committed)
    python samples/word/make_docx.py --out DIR  # somewhere else

The text below is written by hand (invented but realistic, after the 2020
national notice formats); NAME.gold.json beside each file is labelled by hand
from this text. Output is byte-deterministic: fixed core properties and fixed
ZIP timestamps, so re-running on unchanged code gives the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import zipfile
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

HERE = Path(__file__).resolve().parent
FIXED = dt.datetime(2025, 1, 1, 0, 0, 0)


def _heading(d, text: str) -> None:
    p = d.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(16)


def _table(d, rows: list[list[str]], merge_rest: tuple[int, ...] = ()) -> None:
    """A bordered table; rows listed in ``merge_rest`` have their 2nd..last cells merged (one value)."""
    width = max(len(r) for r in rows)
    t = d.add_table(rows=len(rows), cols=width)
    t.style = "Table Grid"
    for i, row in enumerate(rows):
        if i in merge_rest:
            merged = t.cell(i, 1).merge(t.cell(i, width - 1))
            t.cell(i, 0).text = row[0]
            merged.text = row[1]
            continue
        for j, text in enumerate(row):
            t.cell(i, j).text = text


def tender_l40s(d) -> None:
    _heading(d, "滨海市人工智能创新中心智算推理服务器采购项目竞争性磋商公告")
    d.add_paragraph("项目概况")
    d.add_paragraph("滨海市人工智能创新中心智算推理服务器采购项目的潜在供应商应在滨海市政府采购网获取采购文件，"
                    "并于2025年03月14日 14点00分（北京时间）前提交响应文件。")
    d.add_paragraph("一、项目基本情况")
    _table(d, [
        ["项目编号", "BHZC2025-0208", "采购方式", "竞争性磋商"],
        ["项目名称", "滨海市人工智能创新中心智算推理服务器采购项目"],
        ["预算金额", "人民币伍佰捌拾万元整（¥5,800,000.00）", "最高限价", "5,800,000.00元"],
    ], merge_rest=(1,))
    d.add_paragraph("采购需求：")
    _table(d, [
        ["序号", "货物名称", "主要技术参数", "数量", "单位"],
        ["1", "GPU推理服务器", "2颗64核处理器，1TB内存，每台配置4块NVIDIA L40S 48GB GPU，2块25GE网卡", "10", "台"],
        ["2", "推理集群管理软件", "支持模型部署、弹性扩缩容和多租户配额管理", "1", "套"],
    ])
    d.add_paragraph("合同履行期限：合同签订后60日内交货并完成安装调试。")
    d.add_paragraph("本项目（否）接受联合体。")
    d.add_paragraph("二、申请人的资格要求")
    d.add_paragraph("1.满足《中华人民共和国政府采购法》第二十二条规定；")
    d.add_paragraph("2.本项目专门面向中小企业采购。")
    d.add_paragraph("三、获取采购文件")
    d.add_paragraph("时间：2025年03月03日至2025年03月07日，每天上午9:00至11:30，下午14:00至17:00（北京时间，法定节假日除外）")
    d.add_paragraph("地点：滨海市政府采购网")
    d.add_paragraph("四、响应文件提交")
    d.add_paragraph("截止时间：2025年03月14日 14点00分（北京时间）")
    d.add_paragraph("地点：滨海市公共资源交易中心开标二室")
    d.add_paragraph("五、对本次采购提出询问，请按以下方式联系。")
    d.add_paragraph("1.采购人信息")
    d.add_paragraph("名 称：滨海市人工智能创新中心")
    d.add_paragraph("地 址：滨海市高新区创新大道1号")
    d.add_paragraph("联系方式：0898-66120033")
    d.add_paragraph("2.采购代理机构信息")
    d.add_paragraph("名 称：滨海公诚项目管理有限公司")
    d.add_paragraph("地 址：滨海市龙华区国贸路58号")
    d.add_paragraph("联系方式：0898-68553210")
    p = d.add_paragraph("滨海公诚项目管理有限公司")
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p = d.add_paragraph("2025年3月3日")
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def contract_huawei_cloud(d) -> None:
    _heading(d, "江州市政务云服务（2025年度）采购项目合同公告")
    _table(d, [
        ["合同编号", "JZZWY-HT-2025-001"],
        ["合同名称", "江州市政务云服务（2025年度）采购合同"],
        ["项目编号", "JZCG2024-GK-0963"],
        ["项目名称", "江州市政务云服务（2025年度）采购项目"],
        ["采购方式", "公开招标"],
    ])
    d.add_paragraph("一、合同主体")
    d.add_paragraph("采购人（甲方）：江州市大数据发展管理局")
    d.add_paragraph("地址：江州市政务服务中心B座6楼")
    d.add_paragraph("供应商（乙方）：华为云计算技术有限公司")
    d.add_paragraph("地址：贵州省贵安新区黔中大道交兴功路华为云数据中心")
    d.add_paragraph("采购代理机构：江州市公共资源交易服务中心")
    d.add_paragraph("二、合同主要信息")
    _table(d, [
        ["主要标的名称", "服务范围", "服务要求", "服务时间"],
        ["政务云服务", "依托华为云政务云提供计算、存储、网络及安全服务，含2400 vCPU云服务器资源和昇腾910B AI算力资源16卡",
         "等保三级，数据存储于江州市本地政务云节点", "2025年1月1日至2025年12月31日"],
    ])
    d.add_paragraph("合同金额：人民币叁佰贰拾陆万元整（¥3,260,000.00）")
    d.add_paragraph("履约期限、地点等简要信息：2025年1月1日至2025年12月31日，江州市")
    d.add_paragraph("合同签订日期：2025年1月16日")
    d.add_paragraph("合同公告日期：2025年1月20日")
    d.add_paragraph("三、其他补充事宜")
    d.add_paragraph("本合同依据中标结果签订，中标公告已于2024年12月27日发布。")


def award_lots_merged(d) -> None:
    """The web sample ccgp-award-lots-rowspan as Word: a key-value grid, then the lot table whose
    lot-1 cells are merged down over its two items (w:vMerge) and whose 合计 label spans three columns."""
    _heading(d, "海川大学智慧教室建设项目中标公告")
    _table(d, [
        ["项目编号", "HCDX-2025-ZB-0092", "采购方式", "公开招标"],
        ["采购人", "海川大学", "采购代理机构", "海川中天招标有限公司"],
    ])
    d.add_paragraph("一、中标信息")
    rows = [["包号", "标的名称", "中标供应商", "中标金额（元）"],
            ["包1", "智慧黑板", "海川博文教育科技有限公司", "1,286,000.00"],
            ["", "录播系统", "", ""],
            ["包2", "教室桌椅", "南屿新材家具制造有限公司", "412,800.00"],
            ["合计", "", "", "1,698,800.00"]]
    t = d.add_table(rows=len(rows), cols=4)
    t.style = "Table Grid"
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            if text:
                t.cell(i, j).text = text
    for j in (0, 2, 3):
        t.cell(1, j).merge(t.cell(2, j))
    t.cell(4, 0).merge(t.cell(4, 2))
    d.add_paragraph("二、其他补充事宜")
    d.add_paragraph("项目名称：海川大学智慧教室建设项目")
    d.add_paragraph("公告日期：2025年8月11日")


SAMPLES = {"contract-huawei-govcloud-ascend": contract_huawei_cloud, "tender-l40s-inference-servers": tender_l40s,
           "award-lots-merged-cells": award_lots_merged}


def _deterministic(data: bytes) -> bytes:
    """The .docx ZIP rewritten with fixed timestamps and member order (same input → same bytes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write(name: str, out_dir: Path) -> Path:
    d = docx.Document()
    d.styles["Normal"].font.name = "SimSun"
    props = d.core_properties
    props.author = props.last_modified_by = "tenderx samples"
    props.created = props.modified = FIXED
    props.revision = 1
    SAMPLES[name](d)
    buf = io.BytesIO()
    d.save(buf)
    path = out_dir / f"{name}.docx"
    path.write_bytes(_deterministic(buf.getvalue()))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in SAMPLES:
        print(write(name, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
