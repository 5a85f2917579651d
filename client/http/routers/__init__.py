"""One router per API: classification, information (info, health, probes, metrics) and live-call
streaming. Each takes the service, settings and metrics from `app.state` (set by
`client.http.app.create_app`); routers never import each other."""
