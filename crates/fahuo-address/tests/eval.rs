//! Accuracy on the labelled evaluation set (`tests/data/eval.tsv`, see `tests/data/EVAL.md`):
//! province, city and county must each be right in at least 99% of cases.

use fahuo_address::parse;

#[test]
fn per_level_accuracy_is_at_least_99_percent() {
    let data = include_str!("data/eval.tsv");
    let mut n = 0;
    let mut right = [0usize; 3];
    let mut failures = Vec::new();
    let mut provinces = std::collections::HashSet::new();
    for line in data
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert!(f.len() >= 7, "bad eval line: {line}");
        let p = parse(f[1]);
        n += 1;
        for (i, (got, want)) in [(p.province, f[2]), (p.city, f[3]), (p.county, f[4])]
            .into_iter()
            .enumerate()
        {
            let want = (want != "-").then_some(want);
            if got == want {
                right[i] += 1;
            } else {
                failures.push(format!("{}: level {i} got {got:?} want {want:?}", f[1]));
            }
        }
        if f[2] != "-" {
            provinces.insert(f[2].to_string());
        }
    }
    assert_eq!(
        provinces.len(),
        31,
        "the set covers every mainland province-level unit"
    );
    for (i, level) in ["province", "city", "county"].iter().enumerate() {
        let acc = right[i] as f64 / n as f64;
        assert!(
            acc >= 0.99,
            "{level} accuracy {acc:.4} < 0.99; failures:\n{}",
            failures.join("\n")
        );
    }
}
