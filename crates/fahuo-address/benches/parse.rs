//! divan benchmarks: parser load time and per-address parse time on a few typical lines.

use fahuo_address::Parser;

fn main() {
    divan::main();
}

#[divan::bench]
fn load() -> Parser {
    Parser::new()
}

#[divan::bench(args = [
    "张三 13812345678 浙江杭州西湖区文三路90号",
    "上海徐汇区虹漕路461号58号楼5楼 李四 021-64581234-8",
    "柯桥轻纺城老市场11楼",
    "廣東省東莞市長安鎮振安路28號 陳先生 13900001111",
])]
fn parse(bencher: divan::Bencher, line: &str) {
    let p = Parser::global();
    bencher.bench(|| p.parse(divan::black_box(line)));
}
