//! The tool budget: how many code blocks a trajectory may run — a fixed number (evaluation: 5, the reference's value),
//! or a schedule over training steps (the reference raises it by hand from 2 to 3 near step 100 and to 4 near step
//! 200; here `2@0,3@100,4@200` says the same in the config, so a run is reproducible).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A tool budget by step: `(first step, budget)` pairs in increasing step order, the first at step 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolBudget {
    steps: Vec<(u64, u32)>,
}

impl ToolBudget {
    /// The same budget at every step.
    pub fn fixed(budget: u32) -> ToolBudget {
        ToolBudget { steps: vec![(0, budget)] }
    }

    /// The budget in force at `step`.
    pub fn at(&self, step: u64) -> u32 {
        self.steps.iter().rev().find(|(from, _)| *from <= step).map_or(0, |&(_, b)| b)
    }
}

impl FromStr for ToolBudget {
    type Err = Error;

    /// `N` (a fixed budget) or `B@S,B@S,…` (budget B from step S on; steps increasing, the first 0).
    fn from_str(s: &str) -> Result<ToolBudget, Error> {
        let bad = |why: &str| Error::Budget { spec: s.to_owned(), why: why.to_owned() };
        let s = s.trim();
        if let Ok(n) = s.parse::<u32>() {
            return Ok(ToolBudget::fixed(n));
        }
        let mut steps: Vec<(u64, u32)> = Vec::new();
        for part in s.split(',') {
            let (budget, step) = part.trim().split_once('@').ok_or_else(|| bad("expected BUDGET@STEP, e.g. 2@0"))?;
            let budget = budget.trim().parse().map_err(|_| bad("a budget is not a whole number"))?;
            let step: u64 = step.trim().parse().map_err(|_| bad("a step is not a whole number"))?;
            if steps.last().is_some_and(|&(last, _)| step <= last) {
                return Err(bad("steps must increase"));
            }
            steps.push((step, budget));
        }
        if steps.first().is_none_or(|&(first, _)| first != 0) {
            return Err(bad("the schedule must start at step 0 (e.g. 2@0,3@100)"));
        }
        Ok(ToolBudget { steps })
    }
}

impl fmt::Display for ToolBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [(0, b)] = self.steps.as_slice() {
            return write!(f, "{b}");
        }
        let parts: Vec<String> = self.steps.iter().map(|(s, b)| format!("{b}@{s}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for ToolBudget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ToolBudget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ToolBudget, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ToolBudget::fixed(n)),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_apply_and_print() {
        let b: ToolBudget = "2@0,3@100,4@200".parse().unwrap();
        assert_eq!([b.at(0), b.at(99), b.at(100), b.at(199), b.at(200), b.at(10_000)], [2, 2, 3, 3, 4, 4]);
        assert_eq!(b.to_string(), "2@0,3@100,4@200");
        let f: ToolBudget = "5".parse().unwrap();
        assert_eq!((f.at(0), f.at(1 << 40), f.to_string()), (5, 5, "5".to_owned()));
        assert_eq!(" 3@0 ".parse::<ToolBudget>().unwrap(), ToolBudget::fixed(3));
    }

    #[test]
    fn bad_schedules_say_why() {
        for (spec, why) in [
            ("", "BUDGET@STEP"),
            ("2@10,3@20", "start at step 0"),
            ("2@0,3@0", "increase"),
            ("2@0,x@5", "budget is not"),
            ("2@0,3@-1", "step is not"),
            ("two", "BUDGET@STEP"),
        ] {
            let e = spec.parse::<ToolBudget>().unwrap_err().to_string();
            assert!(e.contains(why), "{spec:?}: {e}");
        }
    }

    #[test]
    fn serde_takes_numbers_and_strings() {
        let b: ToolBudget = serde_json::from_str("\"2@0,4@50\"").unwrap();
        assert_eq!(b.at(60), 4);
        assert_eq!(serde_json::from_str::<ToolBudget>("5").unwrap(), ToolBudget::fixed(5));
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"2@0,4@50\"");
    }
}
