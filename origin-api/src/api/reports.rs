//! Reports for owners and admins: conversations per day, first response and resolution times,
//! ratings, per agent and per site, over a span of days (computed by the store).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chat_core::ids::{Millis, SiteId};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::clock::now;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::store::report::{DAY_MS, MAX_REPORT_DAYS};
use crate::store::{Report, ReportQuery};

/// Time zones run from UTC−12:00 to UTC+14:00.
const OFFSETS: std::ops::RangeInclusive<i32> = -720..=840;

pub fn router() -> Router<AppState> {
    Router::new().route("/reports", get(report))
}

#[derive(Deserialize)]
struct Query {
    /// Start of the span (ms); 30 days before `to` if absent.
    from: Option<u64>,
    /// End of the span (ms, not included); now if absent.
    to: Option<u64>,
    #[serde(default)]
    utc_offset_minutes: i32,
    site: Option<SiteId>,
}

async fn report(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiQuery(query): ApiQuery<Query>,
) -> ApiResult<Json<Report>> {
    me.require_manager()?;
    let to = query.to.unwrap_or(now().0);
    let from = query.from.unwrap_or(to.saturating_sub(30 * DAY_MS));
    if from >= to {
        return Err(ApiError::Invalid("from must be before to".into()));
    }
    if to - from > MAX_REPORT_DAYS * DAY_MS {
        return Err(ApiError::Invalid(format!("a report covers at most {MAX_REPORT_DAYS} days")));
    }
    if !OFFSETS.contains(&query.utc_offset_minutes) {
        return Err(ApiError::Invalid("utc_offset_minutes is -720 to 840".into()));
    }
    let query = ReportQuery {
        from: Millis(from),
        to: Millis(to),
        utc_offset_minutes: query.utc_offset_minutes,
        site: query.site,
        sites: me.sites.clone(),
    };
    Ok(Json(state.store.report(&me.tenant, &query).await?))
}
