//! Renders a few hand-picked worst cases (long address, every mark, logo, reprint) at every
//! supported size into `/tmp/fahuo-showcase-<size>.pdf`, for looking at.

use fahuo_labels::{
    LabelOptions, LabelSize, Party, ShippingLabel, render_labels_pdf, sample_labels,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = sample_labels(3, 1)
        .into_iter()
        .find(|l| l.logo_png.is_some())
        .expect("a sample with a logo");
    let worst = ShippingLabel {
        carrier_name: "顺丰速运".into(),
        waybill_no: "SF1385628716739".into(),
        sort_code: "755WF-012 A09".into(),
        hub: Some("深圳华南转运中心（宝安）".into()),
        receiver: Party {
            name: "欧阳娜娜".into(),
            phone: "138****5678".into(),
            address: "新疆维吾尔自治区伊犁哈萨克自治州伊宁市解放西路天山明珠花园小区东区18号楼3单元602室（小区北门进去右转第二栋，门卫室旁边的丰巢快递柜放不下请直接送上楼，周末全天有人，联系不上请放物业服务中心前台并拍照告知，谢谢）".into(),
        },
        items: "法式碎花连衣裙 M 黑色 ×1；纯棉短袖T恤 白色 L ×2；陶瓷马克杯 350ml 雾蓝 ×1；手工红糖姜茶 20袋装 ×3".into(),
        cold_chain: true,
        fragile: true,
        reprint: 2,
        ..base
    };
    for size in LabelSize::SUPPORTED {
        let out = render_labels_pdf(std::slice::from_ref(&worst), &LabelOptions::new(size))?;
        std::fs::write(format!("/tmp/fahuo-showcase-{size}.pdf"), &out.pdf)?;
        println!("{size}: {:?}", out.reports[0]);
    }
    Ok(())
}
