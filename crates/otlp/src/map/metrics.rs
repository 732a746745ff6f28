//! Metrics: every data point becomes one stored point of a series (name, service,
//! point attributes). Temporality is kept, so the store can turn cumulative counters
//! into increases and notice restarts.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point::Value as Number, AggregationTemporality, NumberDataPoint,
};

use clawscope_core::otel::{MetricKind, MetricPoint};

use super::attrs::object;
use super::{resource_identity, Rejected};

fn ns(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

fn number(p: &NumberDataPoint) -> Option<f64> {
    match p.value? {
        Number::AsDouble(d) => d.is_finite().then_some(d),
        Number::AsInt(i) => Some(i as f64),
    }
}

/// Map an export request; points without a time or a finite value are rejected.
pub fn map_metrics(req: &ExportMetricsServiceRequest) -> (Vec<MetricPoint>, Rejected) {
    let mut out = Vec::new();
    let mut rejected = Rejected::default();
    for rm in &req.resource_metrics {
        let res = resource_identity(rm.resource.as_ref());
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let base = MetricPoint {
                    name: m.name.clone(),
                    unit: m.unit.clone(),
                    service: res.service.clone(),
                    ..MetricPoint::default()
                };
                let cumulative = |t: i32| t == AggregationTemporality::Cumulative as i32;
                let mut push = |p: Option<MetricPoint>| match p {
                    Some(p) if p.time_ns > 0 => out.push(p),
                    _ => rejected.add("metric point without a time or a finite value"),
                };
                // One point of this metric: the series identity plus its reading.
                let at = |kind,
                          cumulative: bool,
                          attrs: &[KeyValue],
                          start: u64,
                          time: u64,
                          value: f64| {
                    MetricPoint {
                        kind: Some(kind),
                        cumulative,
                        monotonic: kind != MetricKind::Gauge,
                        attrs: object(attrs),
                        start_ns: ns(start),
                        time_ns: ns(time),
                        value,
                        ..base.clone()
                    }
                };
                match &m.data {
                    Some(Data::Gauge(g)) => {
                        for p in &g.data_points {
                            push(number(p).map(|v| {
                                at(
                                    MetricKind::Gauge,
                                    false,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    v,
                                )
                            }));
                        }
                    }
                    Some(Data::Sum(s)) => {
                        let cum = cumulative(s.aggregation_temporality);
                        for p in &s.data_points {
                            push(number(p).map(|v| MetricPoint {
                                monotonic: s.is_monotonic,
                                ..at(
                                    MetricKind::Sum,
                                    cum,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    v,
                                )
                            }));
                        }
                    }
                    Some(Data::Histogram(h)) => {
                        let cum = cumulative(h.aggregation_temporality);
                        for p in &h.data_points {
                            let buckets_ok = p.bucket_counts.is_empty()
                                || p.bucket_counts.len() == p.explicit_bounds.len() + 1;
                            let sum = p.sum.filter(|s| s.is_finite()).unwrap_or(0.0);
                            push(buckets_ok.then(|| MetricPoint {
                                count: Some(p.count),
                                bounds: p.explicit_bounds.clone(),
                                buckets: p.bucket_counts.clone(),
                                ..at(
                                    MetricKind::Histogram,
                                    cum,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    sum,
                                )
                            }));
                        }
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        let cum = cumulative(h.aggregation_temporality);
                        for p in &h.data_points {
                            let sum = p.sum.filter(|s| s.is_finite()).unwrap_or(0.0);
                            push(Some(MetricPoint {
                                count: Some(p.count),
                                ..at(
                                    MetricKind::ExpHistogram,
                                    cum,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    sum,
                                )
                            }));
                        }
                    }
                    Some(Data::Summary(s)) => {
                        for p in &s.data_points {
                            push(p.sum.is_finite().then(|| MetricPoint {
                                count: Some(p.count),
                                ..at(
                                    MetricKind::Summary,
                                    true,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    p.sum,
                                )
                            }));
                        }
                    }
                    None => rejected.add("metric without data"),
                }
            }
        }
    }
    (out, rejected)
}
