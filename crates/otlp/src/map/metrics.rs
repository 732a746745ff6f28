//! Metrics: every data point becomes one stored point of a series (name, service,
//! point attributes). Temporality is kept, so the store can turn cumulative counters
//! into increases and notice restarts.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
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
                match &m.data {
                    Some(Data::Gauge(g)) => {
                        for p in &g.data_points {
                            push(number(p).map(|v| MetricPoint {
                                kind: Some(MetricKind::Gauge),
                                attrs: object(&p.attributes),
                                start_ns: ns(p.start_time_unix_nano),
                                time_ns: ns(p.time_unix_nano),
                                value: v,
                                ..base.clone()
                            }));
                        }
                    }
                    Some(Data::Sum(s)) => {
                        for p in &s.data_points {
                            push(number(p).map(|v| MetricPoint {
                                kind: Some(MetricKind::Sum),
                                cumulative: cumulative(s.aggregation_temporality),
                                monotonic: s.is_monotonic,
                                attrs: object(&p.attributes),
                                start_ns: ns(p.start_time_unix_nano),
                                time_ns: ns(p.time_unix_nano),
                                value: v,
                                ..base.clone()
                            }));
                        }
                    }
                    Some(Data::Histogram(h)) => {
                        for p in &h.data_points {
                            let buckets_ok = p.bucket_counts.is_empty()
                                || p.bucket_counts.len() == p.explicit_bounds.len() + 1;
                            push(buckets_ok.then(|| MetricPoint {
                                kind: Some(MetricKind::Histogram),
                                cumulative: cumulative(h.aggregation_temporality),
                                monotonic: true,
                                attrs: object(&p.attributes),
                                start_ns: ns(p.start_time_unix_nano),
                                time_ns: ns(p.time_unix_nano),
                                value: p.sum.filter(|s| s.is_finite()).unwrap_or(0.0),
                                count: Some(p.count),
                                bounds: p.explicit_bounds.clone(),
                                buckets: p.bucket_counts.clone(),
                                ..base.clone()
                            }));
                        }
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        for p in &h.data_points {
                            push(Some(MetricPoint {
                                kind: Some(MetricKind::ExpHistogram),
                                cumulative: cumulative(h.aggregation_temporality),
                                monotonic: true,
                                attrs: object(&p.attributes),
                                start_ns: ns(p.start_time_unix_nano),
                                time_ns: ns(p.time_unix_nano),
                                value: p.sum.filter(|s| s.is_finite()).unwrap_or(0.0),
                                count: Some(p.count),
                                ..base.clone()
                            }));
                        }
                    }
                    Some(Data::Summary(s)) => {
                        for p in &s.data_points {
                            push(p.sum.is_finite().then(|| MetricPoint {
                                kind: Some(MetricKind::Summary),
                                cumulative: true,
                                monotonic: true,
                                attrs: object(&p.attributes),
                                start_ns: ns(p.start_time_unix_nano),
                                time_ns: ns(p.time_unix_nano),
                                value: p.sum,
                                count: Some(p.count),
                                ..base.clone()
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
