//! OTLP/gRPC: the trace, metrics and logs services (tonic), gzip accepted, the same
//! body limit and token as OTLP/HTTP. `UNAVAILABLE` (retryable) when the store cannot
//! take the data.

use std::future::Future;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use clawscope_core::otel::Telemetry;

use crate::map::Rejected;
use crate::signal;
use crate::{Config, Sink};

#[derive(Clone)]
struct Receiver {
    sink: Sink,
}

impl Receiver {
    async fn store(&self, (t, r): (Telemetry, Rejected)) -> Result<Rejected, Status> {
        if !t.is_empty() {
            (self.sink)(t).await.map_err(|e| {
                tracing::warn!(error = %e, "otlp data not stored");
                Status::unavailable(format!("not stored: {e}"))
            })?;
        }
        Ok(r)
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let r = self.store(signal::traces(req.get_ref())).await?;
        Ok(Response::new(signal::trace_response(&r)))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        req: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let r = self.store(signal::metrics(req.get_ref())).await?;
        Ok(Response::new(signal::metrics_response(&r)))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        req: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let r = self.store(signal::logs(req.get_ref())).await?;
        Ok(Response::new(signal::logs_response(&r)))
    }
}

/// Serve the three OTLP gRPC services on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sink: Sink,
    cfg: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let rx = Receiver { sink };
    let limit = cfg.max_body;
    let check = move |req: Request<()>| {
        let md = req.metadata();
        if cfg.authorized(|name| md.get(name).and_then(|v| v.to_str().ok())) {
            Ok(req)
        } else {
            Err(Status::unauthenticated("missing or wrong token"))
        }
    };
    let traces = TraceServiceServer::new(rx.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let metrics = MetricsServiceServer::new(rx.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let logs = LogsServiceServer::new(rx)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    tonic::transport::Server::builder()
        .add_service(InterceptedService::new(traces, check.clone()))
        .add_service(InterceptedService::new(metrics, check.clone()))
        .add_service(InterceptedService::new(logs, check))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await
}
