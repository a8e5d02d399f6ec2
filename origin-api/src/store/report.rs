//! Reports: how many conversations a tenant's sites had, how fast agents answered and closed them
//! and how visitors rated them, over a span of days. Every backend reads one row per conversation
//! with the same statement ([`super::statements::report_rows`]); the figures are computed here,
//! once for all of them.
//!
//! - **First response**: from the visitor's first message to the first agent message after it
//!   (text or file; notes and events do not count). A conversation the visitor never wrote in
//!   (an invitation left unanswered) has none and is neither answered nor unanswered.
//! - **Resolution**: from the start of a conversation to its close; open ones have none yet.
//! - **Median and p90** by nearest rank: the smallest value with at least half (nine tenths) of
//!   the values at or below it.
//! - A conversation counts on the day it started, in the time zone of `utc_offset_minutes`, and
//!   for the agent who has it now (the last one it was assigned or transferred to).

use std::collections::HashMap;

use chat_core::ids::{AgentId, Millis, SiteId};
use serde::Serialize;

/// The longest span a report covers.
pub const MAX_REPORT_DAYS: u64 = 366;

/// A day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// What a report covers.
#[derive(Clone, Debug)]
pub struct ReportQuery {
    /// Conversations started at or after this time…
    pub from: Millis,
    /// …and before this one.
    pub to: Millis,
    /// The reader's time zone, for the days: minutes east of UTC (480 for Beijing).
    pub utc_offset_minutes: i32,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only sites among these (an agent's sites); `None` for all.
    pub sites: Option<Vec<SiteId>>,
}

/// One conversation, as a report needs it.
#[derive(Clone, Debug)]
pub struct ReportRow {
    /// Its site, and the site's name.
    pub site: (SiteId, Option<String>),
    /// The agent who has it, and their name.
    pub agent: Option<(AgentId, Option<String>)>,
    /// When it started.
    pub started_at: Millis,
    /// The visitor's first message.
    pub asked_at: Option<Millis>,
    /// The first agent message after it.
    pub answered_at: Option<Millis>,
    /// When it closed.
    pub closed_at: Option<Millis>,
    /// The visitor's rating, 1–5.
    pub rating: Option<u8>,
}

/// A report: the whole span, each day, each agent and each site.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// The span: conversations started at or after `from`…
    pub from: Millis,
    /// …and before `to`.
    pub to: Millis,
    /// The time zone the days are in.
    pub utc_offset_minutes: i32,
    /// Every conversation of the span.
    pub totals: Figures,
    /// Every day of the span, days without conversations too, oldest first.
    pub days: Vec<Day>,
    /// Each agent who has conversations of the span, busiest first.
    pub agents: Vec<AgentFigures>,
    /// Each site with conversations in the span, busiest first.
    pub sites: Vec<SiteFigures>,
}

/// The figures of a set of conversations.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Figures {
    /// Conversations started.
    pub conversations: u64,
    /// Those where an agent answered the visitor.
    pub answered: u64,
    /// Those where the visitor wrote and no agent answered.
    pub unanswered: u64,
    /// Time to the first answer, in milliseconds.
    pub first_response: Option<Spread>,
    /// Time from start to close, in milliseconds.
    pub resolution: Option<Spread>,
    /// The visitors' ratings.
    pub ratings: Ratings,
}

/// The middle and the slow end of some durations, in milliseconds.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Spread {
    /// Half took this long or less.
    pub median_ms: u64,
    /// Nine in ten took this long or less.
    pub p90_ms: u64,
}

/// Ratings given.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Ratings {
    /// How many.
    pub count: u64,
    /// Their mean, to two decimals.
    pub average: Option<f64>,
    /// How many of each score, 1 to 5.
    pub by_score: [u64; 5],
}

/// One day.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Day {
    /// `YYYY-MM-DD` in the report's time zone.
    pub date: String,
    /// Conversations started that day.
    pub conversations: u64,
    /// Those of them an agent answered.
    pub answered: u64,
}

/// One agent's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AgentFigures {
    /// The agent.
    pub agent: AgentId,
    /// Their name; `None` once the agent was deleted.
    pub name: Option<String>,
    /// Their conversations' figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One site's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SiteFigures {
    /// The site.
    pub site: SiteId,
    /// Its name.
    pub name: Option<String>,
    /// Its conversations' figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// Durations and ratings gathered before they are summed up.
#[derive(Default)]
struct Tally {
    conversations: u64,
    answered: u64,
    unanswered: u64,
    first_responses: Vec<u64>,
    resolutions: Vec<u64>,
    ratings: Ratings,
    rating_sum: u64,
}

impl Tally {
    fn add(&mut self, row: &ReportRow) {
        self.conversations += 1;
        match (row.asked_at, row.answered_at) {
            (Some(asked), Some(answered)) => {
                self.answered += 1;
                self.first_responses.push(answered.0.saturating_sub(asked.0));
            }
            (Some(_), None) => self.unanswered += 1,
            (None, _) => {}
        }
        if let Some(closed) = row.closed_at {
            self.resolutions.push(closed.0.saturating_sub(row.started_at.0));
        }
        if let Some(score @ 1..=5) = row.rating {
            self.ratings.count += 1;
            self.ratings.by_score[usize::from(score - 1)] += 1;
            self.rating_sum += u64::from(score);
        }
    }

    fn figures(mut self) -> Figures {
        let mut ratings = self.ratings;
        if ratings.count > 0 {
            #[allow(clippy::cast_precision_loss)] // counts far below 2^52
            let mean = self.rating_sum as f64 / ratings.count as f64;
            ratings.average = Some((mean * 100.0).round() / 100.0);
        }
        Figures {
            conversations: self.conversations,
            answered: self.answered,
            unanswered: self.unanswered,
            first_response: spread(&mut self.first_responses),
            resolution: spread(&mut self.resolutions),
            ratings,
        }
    }
}

fn spread(values: &mut [u64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = |percent: usize| values[(values.len() * percent).div_ceil(100).max(1) - 1];
    Some(Spread { median_ms: rank(50), p90_ms: rank(90) })
}

/// The report of these conversations, all started within the query's span.
pub fn summarise(query: &ReportQuery, rows: &[ReportRow]) -> Report {
    let offset = i64::from(query.utc_offset_minutes) * 60_000;
    let day_of =
        |at: Millis| (i64::try_from(at.0).unwrap_or(i64::MAX) + offset).div_euclid(DAY_MS.cast_signed());
    let first = day_of(query.from);
    let last = day_of(Millis(query.to.0.saturating_sub(1))).max(first);
    let span =
        usize::try_from((last - first + 1).min(i64::try_from(MAX_REPORT_DAYS + 1).unwrap_or(i64::MAX)))
            .unwrap_or_default();
    let mut days: Vec<Day> = (0..span)
        .map(|i| Day {
            date: date(first + i64::try_from(i).unwrap_or_default()),
            conversations: 0,
            answered: 0,
        })
        .collect();

    let mut totals = Tally::default();
    let mut agents: HashMap<&AgentId, (Option<&String>, Tally)> = HashMap::new();
    let mut sites: HashMap<&SiteId, (Option<&String>, Tally)> = HashMap::new();
    for row in rows {
        totals.add(row);
        if let Some(day) = usize::try_from(day_of(row.started_at) - first).ok().and_then(|i| days.get_mut(i))
        {
            day.conversations += 1;
            day.answered += u64::from(row.answered_at.is_some() && row.asked_at.is_some());
        }
        if let Some((agent, name)) = &row.agent {
            agents.entry(agent).or_insert_with(|| (name.as_ref(), Tally::default())).1.add(row);
        }
        let (site, name) = &row.site;
        sites.entry(site).or_insert_with(|| (name.as_ref(), Tally::default())).1.add(row);
    }

    let agents = ranked(agents)
        .into_iter()
        .map(|(agent, name, figures)| AgentFigures { agent, name, figures })
        .collect();
    let sites =
        ranked(sites).into_iter().map(|(site, name, figures)| SiteFigures { site, name, figures }).collect();
    Report {
        from: query.from,
        to: query.to,
        utc_offset_minutes: query.utc_offset_minutes,
        totals: totals.figures(),
        days,
        agents,
        sites,
    }
}

/// Each group's figures, busiest first, then by name and id.
fn ranked<K: Clone + Ord>(
    groups: HashMap<&K, (Option<&String>, Tally)>,
) -> Vec<(K, Option<String>, Figures)> {
    let mut ranked: Vec<_> = groups
        .into_iter()
        .map(|(key, (name, tally))| (key.clone(), name.cloned(), tally.figures()))
        .collect();
    ranked.sort_by(|a, b| (b.2.conversations, &a.1, &a.0).cmp(&(a.2.conversations, &b.1, &b.0)));
    ranked
}

/// Day `day` after 1970-01-01 as `YYYY-MM-DD`, in the proleptic Gregorian calendar: counted in
/// 400-year eras of 146,097 days that start on 1 March, so the leap day ends each year.
fn date(day: i64) -> String {
    let shifted = day + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let of_era = shifted.rem_euclid(146_097);
    let year_of_era = (of_era - of_era / 1_460 + of_era / 36_524 - of_era / 146_096) / 365;
    let of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * of_year + 2) / 153;
    let day_of_month = of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day_of_month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_named_in_the_calendar() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(59), "1970-03-01");
        assert_eq!(date(11_016), "2000-02-29", "a leap day of a year divisible by 400");
        assert_eq!(date(20_513), "2026-03-01");
        assert_eq!(date(20_786), "2026-11-29");
        assert_eq!(date(47_541), "2100-03-01", "2100 has no 29 February");
    }

    #[test]
    fn the_median_and_p90_are_values_that_occurred() {
        assert_eq!(spread(&mut []), None);
        assert_eq!(spread(&mut [7]), Some(Spread { median_ms: 7, p90_ms: 7 }));
        let mut ten: Vec<u64> = (1..=10).rev().collect();
        assert_eq!(spread(&mut ten), Some(Spread { median_ms: 5, p90_ms: 9 }));
        assert_eq!(spread(&mut [1, 100]), Some(Spread { median_ms: 1, p90_ms: 100 }));
    }
}
