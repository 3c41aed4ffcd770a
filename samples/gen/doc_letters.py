"""Letters and plans: the co-sealed cloud-deployment explanation (说明), the data-and-device
explanation, the innovation explanation, and a private cloud build plan (建设方案/用户手册)."""

from __future__ import annotations

import random
from datetime import date

from .built import Built, cloud_keywords, cn_date, iso
from .entities import Company, Provider, catalog, group_of
from .money import fmt
from .pdfdoc import A4, DocCanvas
from .seals import SealSpec
from .spec import ContractSpec

DATA_GROUPS = ("数据上云", "设备接入", "边缘计算", "设备服务")


def _sign(d: DocCanvas, rng: random.Random, signers: list[tuple[str, str, str | None]],
          when: date) -> None:
    """Signature lines at the bottom right; ``signers`` = (label, name, seal party or None)."""
    d.gap(10)
    d.ensure(30 * len(signers) + 10)
    for label, name, party in signers:
        y = d.y
        d.text(108, y, f"{label}（盖章）：", size=11)
        d.text(108, y + 8, name, size=11)
        d.text(108, y + 16, cn_date(when), size=11)
        if party:
            d.seal(SealSpec(name, party=party), 150 + rng.uniform(-8, 8), y + 8 + rng.uniform(-3, 3),
                   rotate_deg=rng.uniform(-15, 15))
        d.y = y + 32


def build_cloud_letter(contract: ContractSpec, co: Company, pv: Provider, when: date,
                       seals: list[str], subdomains: list[str], seed: int, title: str) -> Built:
    """The 说明 a contract without 云服务/云产品 wording needs, sealed by both parties."""
    rng = random.Random(seed)
    doc_title = f"关于《{title}》云端部署及应用情况的说明"
    d = DocCanvas(A4, title=doc_title, margin_mm=25, seed=seed)
    d.y = 30
    d.para(doc_title, size=15, bold=True, indent_chars=0, align="center", leading=1.5)
    d.gap(6)
    d.para(f"{co.city}工业和信息化局：", indent_chars=0, size=11.5)
    products = "、".join(li.name for li in contract.lines)
    period = (f"，服务期限自{cn_date(contract.start)}至{cn_date(contract.end)}"
              if contract.start and contract.end else "")
    d.para(f"{co.name}（统一社会信用代码：{co.uscc}）与{pv.name}于{cn_date(contract.date)}签订"
           f"《{title}》（合同编号：{contract.number}），合同金额人民币{fmt(contract.amount, comma=True)}"
           f"元{period}。", size=11.5, leading=1.8)
    d.para(f"该合同项下的{products}系{pv.name}通过其公有云平台，以软件即服务（SaaS）方式向我单位提供的"
           f"云服务，相关应用系统及业务数据均部署在{pv.short}云端数据中心，我单位通过互联网登录使用，"
           f"未在本地部署服务器。", size=11.5, leading=1.8)
    if subdomains:
        d.para(f"我单位通过该云服务实现了{'、'.join(subdomains)}等业务的上云应用。", size=11.5,
               leading=1.8)
    d.para("特此说明。", size=11.5, leading=1.8)
    signers = [("申报企业", co.name, "applicant" if "applicant" in seals else None),
               ("云服务提供方", pv.name, "provider" if "provider" in seals else None)]
    _sign(d, rng, signers, when)
    pdf = d.finish()
    fields = {
        "explains": "cloud_deployment",
        "date": iso(when), "about_contract": contract.number, "about_provider": pv.name,
        "buyer": co.name, "buyer_tax_id": co.uscc, "seller": pv.name, "seller_tax_id": None,
        "provider": pv.name, "subdomains": list(subdomains), "amount_yuan": contract.amount,
        "amount_uppercase_yuan": None, "invoice_number": None,
        "cloud_keywords_present": cloud_keywords(pdf.page_text),
    }
    return Built("explanation", fields, pdf=pdf, subdomains=list(subdomains))


def _explanation(co: Company, when: date, subdomains: list[str], seed: int, title: str,
                 intro: str, groups: dict[str, list[str]], platform: str, kind_label: str,
                 explains: str) -> Built:
    rng = random.Random(seed)
    desc = catalog()["descriptions"]
    d = DocCanvas(A4, title=title, margin_mm=22, seed=seed)
    d.y = 28
    d.para(title, size=16, bold=True, indent_chars=0, align="center")
    d.gap(5)
    d.para(intro, size=11, leading=1.8)
    numerals = "一二三四五六七八"
    for gi, (group, subs) in enumerate(groups.items()):
        d.gap(2)
        d.para(f"{numerals[gi]}、{group}", size=11.5, bold=True, indent_chars=0)
        for si, sub in enumerate(subs, 1):
            d.para(f"（{si}）{sub}。{desc.get(sub, '')}", size=11, leading=1.8)
    d.gap(3)
    d.para(f"{kind_label}汇总", size=11.5, bold=True, indent_chars=0)
    d.gap(1)
    rows: list[list] = [["序号", "类别", "子域", "实现平台", "佐证材料"]]
    for i, sub in enumerate(subdomains, 1):
        rows.append([str(i), group_of(sub), sub, platform, "使用截图"])
    d.table([14, 30, 46, 46, 30], rows, size=9.5)
    _sign(d, rng, [("申报企业", co.name, "applicant")], when)
    pdf = d.finish()
    fields = {"explains": explains, "date": iso(when), "about_contract": None, "about_provider": None,
              "subdomains": list(subdomains), "buyer": None, "seller": None, "provider": None,
              "amount_yuan": None, "amount_uppercase_yuan": None, "invoice_number": None,
              "cloud_keywords_present": cloud_keywords(pdf.page_text)}
    return Built("explanation", fields, pdf=pdf, subdomains=list(subdomains))


def build_data_explanation(co: Company, when: date, subdomains: list[str], platform: str,
                           seed: int) -> Built:
    groups: dict[str, list[str]] = {}
    for s in subdomains:
        groups.setdefault(group_of(s), []).append(s)
    order = {g: i for i, g in enumerate(DATA_GROUPS)}
    groups = dict(sorted(groups.items(), key=lambda kv: order[kv[0]]))
    intro = (f"{co.name}在业务上云的基础上，依托{platform}推进数据上云和设备上云，"
             f"实现生产现场设备联网与数据集中管理。现将数据和设备上云情况说明如下：")
    return _explanation(co, when, subdomains, seed, f"{co.name}数据和设备上云情况说明", intro,
                        groups, platform, "数据和设备上云子域", "data_device")


def build_innovation_explanation(co: Company, when: date, subdomains: list[str], platform: str,
                                 seed: int) -> Built:
    intro = (f"{co.name}在实现业务上云、数据上云和设备上云的基础上，利用云计算、大数据和人工智能等技术，"
             f"消除信息孤岛，打通各系统数据，开展了以下基于数据+模型的创新应用，取得了显著成效：")
    return _explanation(co, when, subdomains, seed, "基于数据+模型的创新应用情况和效果说明", intro,
                        {"创新应用情况": list(subdomains)}, platform, "创新应用", "innovation")


def build_private_cloud_doc(co: Company, when: date, platform: str, vendor: str, seed: int) -> Built:
    """A multi-page build plan + user manual for the private part of a hybrid/private cloud."""
    title = f"{co.name}私有云平台建设方案及用户手册"
    d = DocCanvas(A4, title=title, margin_mm=22, seed=seed)
    d.y = 90
    d.para(co.name, size=18, bold=True, indent_chars=0, align="center")
    d.gap(4)
    d.para("私有云平台建设方案及用户手册", size=22, bold=True, indent_chars=0, align="center")
    d.gap(60)
    d.para(f"编制单位：{co.name}信息部", size=12, indent_chars=0, align="center")
    d.para(f"编制日期：{cn_date(when)}", size=12, indent_chars=0, align="center")
    d.para("版本：V2.1", size=12, indent_chars=0, align="center")
    d.new_page()
    sections = [
        ("一、项目背景", f"为满足生产制造执行、产品研发数据等核心业务对数据安全和低时延访问的要求，"
         f"公司在厂区机房建设私有云平台，与公有云资源组成混合云架构，核心生产系统部署在私有云，"
         f"经营管理类系统使用公有云服务。"),
        ("二、建设目标", "建成计算、存储、网络资源池化的私有云平台，实现资源统一调度、弹性分配和集中运维，"
         "支撑制造执行系统和研发数据管理等系统的稳定运行，并与公有云实现网络互通和数据备份。"),
        ("三、总体架构", f"平台基于{platform}构建，采用“基础设施层—平台服务层—应用层”三层架构。"
         f"基础设施层由计算节点、分布式存储和万兆网络组成；平台服务层提供虚拟机、容器、数据库和对象存储服务；"
         f"应用层承载制造执行系统、产品数据管理等业务系统。平台由{vendor}提供软件及实施服务。"),
    ]
    for head, body in sections:
        d.para(head, size=12, bold=True, indent_chars=0)
        d.para(body, size=11, leading=1.8)
        d.gap(2)
    d.para("四、资源规划", size=12, bold=True, indent_chars=0)
    d.gap(1)
    d.table([40, 60, 30, 36], [
        ["资源类型", "配置", "数量", "用途"],
        ["计算节点", "2×32核 CPU / 512GB 内存", "6台", "虚拟机资源池"],
        ["分布式存储", "全闪存 24×3.84TB", "3套", "块存储/对象存储"],
        ["管理节点", "2×16核 CPU / 256GB 内存", "3台", "云平台管理"],
        ["核心交换机", "万兆 48口", "2台", "业务/存储网络"],
    ], size=9.5)
    d.gap(4)
    more = [
        ("五、安全设计", "平台划分管理、业务、存储三个网络平面，部署下一代防火墙和入侵防御系统，"
         "对虚拟机进行主机安全防护，重要数据每日增量备份至公有云对象存储，实现异地容灾。"),
        ("六、运维管理", "建立平台监控告警体系，对计算、存储、网络资源利用率和业务系统可用性进行7×24小时监控，"
         "制定变更、巡检和应急预案等运维制度。"),
        ("七、用户手册", "1．登录：在浏览器输入平台管理地址，使用统一身份认证账号登录。"
         "2．申请资源：进入“服务目录—云主机”，选择规格、镜像和网络，提交申请，经部门负责人审批后自动创建。"
         "3．使用资源：在“我的资源”中查看云主机状态，可进行开机、关机、远程登录和快照操作。"
         "4．备份恢复：在“备份管理”中配置备份策略，可按时间点恢复云主机和数据库。"
         "5．问题反馈：如遇故障，请在平台“工单”模块提交，信息部将在2小时内响应。"),
    ]
    for head, body in more:
        d.para(head, size=12, bold=True, indent_chars=0)
        d.para(body, size=11, leading=1.8)
        d.gap(2)
    pdf = d.finish()
    fields = {"date": iso(when), "title": title, "provider": vendor, "platform": platform,
              "buyer": None, "seller": None, "amount_yuan": None, "amount_uppercase_yuan": None,
              "invoice_number": None, "cloud_keywords_present": cloud_keywords(pdf.page_text)}
    return Built("private_cloud_doc", fields, pdf=pdf, subdomains=[])
