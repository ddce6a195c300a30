//! Logging and tracing: one subscriber for the whole process, writing logs to
//! the sink it is given (tests pass their own), filtered by `RUST_LOG`
//! (default [`DEFAULT_FILTER`]); and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set, every span exported over OTLP/HTTP (protobuf) to that collector.
//! Nothing is exported otherwise. The standard `OTEL_*` variables (headers,
//! batch delay, …) apply to the exporter.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::LogFormat;

/// `info`, without PostgreSQL's chatter (`NOTICE: relation already exists`).
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

/// Keeps the trace exporter alive; dropping it flushes the spans not yet sent.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("could not flush the trace exporter: {e}");
            }
        }
    }
}

/// Sets up logging for `service`, and trace export when configured. The
/// pretty format is coloured only when `colour` (a terminal, no `NO_COLOR`).
pub fn init<W>(format: LogFormat, colour: bool, sink: W, service: &str) -> Telemetry
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let provider = exporter(service);
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("asynccheckout"))
    });
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let installed = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(sink),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_ansi(colour)
                    .with_writer(sink),
            )
            .try_init(),
    };
    if let Err(e) = installed {
        eprintln!("logging was already set up: {e}");
    }
    Telemetry { provider }
}

/// An OTLP/HTTP span exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
fn exporter(service: &str) -> Option<SdkTracerProvider> {
    std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| {
            eprintln!("OTEL_EXPORTER_OTLP_ENDPOINT is set but the exporter cannot be built: {e}")
        })
        .ok()?;
    let resource = Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    )
}
