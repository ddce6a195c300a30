//! A benchmark's result: what was measured, against which ceiling, on what
//! machine, with which parameters; printed as a table or as JSON.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ceiling::Ceiling;
use super::machine::Machine;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub started_at: DateTime<Utc>,
    pub elapsed_secs: f64,
    pub machine: Machine,
    pub parameters: serde_json::Value,
    pub ceiling: Ceiling,
    pub results: Vec<Measure>,
    /// Peak resident memory of each process the scenario started, in MB.
    pub peak_rss_mb: BTreeMap<String, f64>,
    /// Every run's measures when the scenario was repeated; `results` holds
    /// their medians.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Vec<Measure>>,
    /// Each run's time series, where the scenario keeps one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<serde_json::Value>,
}

/// One number, with what it is compared to.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// `value` divided by the matching ceiling of the same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// The ceiling line `ratio` divides by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_of: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

/// What a measure must reach, on the value or on the ratio.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case", tag = "on", content = "bound")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
    RatioAtLeast(f64),
}

impl Measure {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            name: name.into(),
            value,
            unit,
            ratio: None,
            ratio_of: None,
            target: None,
        }
    }

    /// Adds the ratio to `ceiling`'s `path`, when that was measured.
    pub fn of_ceiling(mut self, ceiling: &Ceiling, path: &'static str) -> Self {
        if let Some(limit) = ceiling.of(path).filter(|l| *l > 0.0) {
            self.ratio = Some(self.value / limit);
            self.ratio_of = Some(path);
        }
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn met(&self) -> Option<bool> {
        Some(match self.target? {
            Target::AtLeast(bound) => self.value >= bound,
            Target::AtMost(bound) => self.value <= bound,
            Target::RatioAtLeast(bound) => self.ratio? >= bound,
        })
    }
}

/// The median of each measure over `runs`, matched by name: a measure is
/// reported when every run has it (saga's per-rate lines differ between
/// runs; its summary lines do not).
pub fn medians(runs: &[Vec<Measure>]) -> Vec<Measure> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter_map(|template| {
            let mut values: Vec<(f64, Option<f64>)> = runs
                .iter()
                .map(|run| {
                    run.iter()
                        .find(|m| m.name == template.name)
                        .map(|m| (m.value, m.ratio))
                })
                .collect::<Option<_>>()?;
            values.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (value, ratio) = values[values.len() / 2];
            Some(Measure {
                value,
                ratio,
                ..template.clone()
            })
        })
        .collect()
}

impl Report {
    /// The report as a table for people.
    pub fn print_table(&self) {
        println!();
        println!(
            "asynccheckout-lab bench {} — {} cores, {} GiB, {}",
            self.scenario,
            self.machine.cores,
            self.machine.memory_gib,
            self.machine
                .postgres
                .split(" on ")
                .next()
                .unwrap_or(&self.machine.postgres)
        );
        println!("parameters: {}", self.parameters);
        if self.scenario == "ceiling" {
            println!();
            println!(
                "{:<22} {:>14} {:>12} {:>10}   (pgbench, {} clients, {} s each)",
                "ceiling", "rows/s", "tx/s", "lat ms", self.ceiling.clients, self.ceiling.seconds
            );
            for line in &self.ceiling.lines {
                println!(
                    "{:<22} {:>14.0} {:>12.0} {:>10.3}",
                    line.path, line.rows_per_sec, line.transactions_per_sec, line.mean_latency_ms
                );
            }
        }
        let used: Vec<&str> = self.results.iter().filter_map(|m| m.ratio_of).collect();
        for line in self
            .ceiling
            .lines
            .iter()
            .filter(|l| used.contains(&l.path.as_str()))
        {
            println!(
                "ceiling {}: {:.0} rows/s (pgbench, {} clients, this run)",
                line.path, line.rows_per_sec, self.ceiling.clients
            );
        }
        println!();
        println!(
            "{:<36} {:>12} {:<10} {:>7} {:<18} {:<14}",
            "measure", "value", "unit", "ratio", "of", "target"
        );
        for m in &self.results {
            let ratio = m.ratio.map(|r| format!("{r:.2}")).unwrap_or_default();
            let target = match (m.target, m.met()) {
                (Some(t), Some(met)) => {
                    format!("{} {}", describe(t), if met { "met" } else { "MISSED" })
                }
                _ => String::new(),
            };
            println!(
                "{:<36} {:>12} {:<10} {:>7} {:<18} {:<14}",
                m.name,
                format_value(m.value),
                m.unit,
                ratio,
                m.ratio_of.unwrap_or(""),
                target
            );
        }
        if !self.peak_rss_mb.is_empty() {
            println!();
            for (process, mb) in &self.peak_rss_mb {
                println!("peak RSS {process:<27} {mb:>12.1} MB");
            }
        }
        println!();
        println!("took {:.1} s", self.elapsed_secs);
    }
}

fn describe(target: Target) -> String {
    match target {
        Target::AtLeast(b) => format!(">= {}", format_value(b)),
        Target::AtMost(b) => format!("<= {}", format_value(b)),
        Target::RatioAtLeast(b) => format!("ratio >= {b:.2}"),
    }
}

fn format_value(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}
