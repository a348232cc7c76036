/* alerts_samples.h — webhook bodies for the alerts tests: the Alertmanager
 * ones were captured from a real prometheus-alertmanager 0.25 (amtool alert
 * add, webhook receiver, send_resolved); the Grafana ones follow Grafana's
 * documentation.  The same bodies are the fuzz seeds (tests/fuzz/corpus/alerts,
 * behind the digit that picks the hook). */
#ifndef TOCSIN_TESTS_ALERTS_SAMPLES_H
#define TOCSIN_TESTS_ALERTS_SAMPLES_H

/* Alertmanager 0.25 (Debian), captured: two alerts firing in one group */
static const char AM_FIRING_TWO[] =
    "{\"receiver\":\"tocsin\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
    "\"labels\":{\"alertname\":\"DatabaseDown\",\"instance\":\"db1:5432\",\"job\":\"postgres\","
    "\"severity\":\"critical\"},\"annotations\":{\"description\":\"pg_up == 0 for 1m\","
    "\"summary\":\"Database db1 is down\"},\"startsAt\":\"2026-12-01T16:35:38.416400264Z\","
    "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prometheus:9090/graph?g0.expr=pg_up+%3D%3D+0\","
    "\"fingerprint\":\"2ae75d89f24e9cb9\"},{\"status\":\"firing\",\"labels\":{\"alertname\":\"DatabaseDown\","
    "\"instance\":\"db2:5432\",\"job\":\"postgres\",\"severity\":\"critical\"},"
    "\"annotations\":{\"summary\":\"Database db2 is down\"},\"startsAt\":\"2026-12-01T16:35:38.55164472Z\","
    "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"332fe1ea74ff5bd6\"}],"
    "\"groupLabels\":{\"alertname\":\"DatabaseDown\"},\"commonLabels\":{\"alertname\":\"DatabaseDown\","
    "\"job\":\"postgres\",\"severity\":\"critical\"},\"commonAnnotations\":{},"
    "\"externalURL\":\"http://vm:19312\",\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"DatabaseDown\\\"}\","
    "\"truncatedAlerts\":0}";

/* the same group after db1 resolved: mixed statuses, group status firing */
static const char AM_ONE_RESOLVED[] =
    "{\"receiver\":\"tocsin\",\"status\":\"firing\",\"alerts\":[{\"status\":\"resolved\","
    "\"labels\":{\"alertname\":\"DatabaseDown\",\"instance\":\"db1:5432\",\"job\":\"postgres\","
    "\"severity\":\"critical\"},\"annotations\":{\"description\":\"pg_up == 0 for 1m\","
    "\"summary\":\"Database db1 is down\"},\"startsAt\":\"2020-01-01T00:00:00Z\","
    "\"endsAt\":\"2020-01-01T00:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"2ae75d89f24e9cb9\"},"
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"DatabaseDown\",\"instance\":\"db2:5432\","
    "\"job\":\"postgres\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\"Database db2 is down\"},"
    "\"startsAt\":\"2026-12-01T16:35:38.55164472Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"\",\"fingerprint\":\"332fe1ea74ff5bd6\"}],\"groupLabels\":{\"alertname\":\"DatabaseDown\"},"
    "\"commonLabels\":{\"alertname\":\"DatabaseDown\",\"job\":\"postgres\",\"severity\":\"critical\"},"
    "\"commonAnnotations\":{},\"externalURL\":\"http://vm:19312\",\"version\":\"4\","
    "\"groupKey\":\"{}:{alertname=\\\"DatabaseDown\\\"}\",\"truncatedAlerts\":0}";

/* the group once all resolved */
static const char AM_RESOLVED[] =
    "{\"receiver\":\"tocsin\",\"status\":\"resolved\",\"alerts\":[{\"status\":\"resolved\","
    "\"labels\":{\"alertname\":\"DatabaseDown\",\"instance\":\"db2:5432\",\"job\":\"postgres\","
    "\"severity\":\"critical\"},\"annotations\":{\"summary\":\"Database db2 is down\"},"
    "\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":\"2020-01-01T00:00:00Z\","
    "\"generatorURL\":\"\",\"fingerprint\":\"332fe1ea74ff5bd6\"}],\"groupLabels\":{\"alertname\":\"DatabaseDown\"},"
    "\"commonLabels\":{\"alertname\":\"DatabaseDown\",\"instance\":\"db2:5432\","
    "\"job\":\"postgres\",\"severity\":\"critical\"},\"commonAnnotations\":{\"summary\":\"Database db2 is down\"},"
    "\"externalURL\":\"http://vm:19312\",\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"DatabaseDown\\\"}\","
    "\"truncatedAlerts\":0}";

/* Grafana unified alerting webhook, from Grafana's documentation */
static const char GRAFANA_UNIFIED[] =
    "{\"receiver\":\"tocsin\",\"status\":\"firing\",\"orgId\":1,\"alerts\":[{\"status\":\"firing\","
    "\"labels\":{\"alertname\":\"High memory usage\",\"team\":\"blue\",\"zone\":\"us-1\","
    "\"grafana_folder\":\"Infra\"},\"annotations\":{\"description\":\"The system has high memory usage\","
    "\"runbook_url\":\"https://myrunbook.com/runbook/1234\",\"summary\":\"This alert was triggered for zone us-1\"},"
    "\"startsAt\":\"2021-10-12T09:51:03.157076+02:00\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"https://play.grafana.org/alerting/1afz29v7z/edit\","
    "\"fingerprint\":\"c6eadffa33fcdf37\",\"silenceURL\":\"https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1\","
    "\"dashboardURL\":\"\",\"panelURL\":\"\",\"values\":{\"B\":44.23943737541908,"
    "\"C\":1},\"valueString\":\"[ var='B' labels={__name__=go_memstats_alloc_bytes} value=44.23943737541908 ]\"},"
    "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"High CPU usage\",\"team\":\"blue\","
    "\"zone\":\"eu-1\"},\"annotations\":{\"description\":\"The system has high CPU usage\","
    "\"summary\":\"This alert was triggered for zone eu-1\"},\"startsAt\":\"2021-10-12T09:56:03.157076+02:00\","
    "\"endsAt\":\"2021-10-12T10:01:03.157076+02:00\",\"generatorURL\":\"https://play.grafana.org/alerting/d1rdpdv7k/edit\","
    "\"fingerprint\":\"bc97ff14869b13e3\",\"silenceURL\":\"https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1\","
    "\"dashboardURL\":\"https://play.grafana.org/d/z8h7QKd7z\",\"panelURL\":\"https://play.grafana.org/d/z8h7QKd7z?viewPanel=2\","
    "\"values\":null,\"valueString\":\"\"}],\"groupLabels\":{},\"commonLabels\":{\"team\":\"blue\"},"
    "\"commonAnnotations\":{},\"externalURL\":\"https://play.grafana.org/\","
    "\"version\":\"1\",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0,\"title\":\"[FIRING:1,"
    " RESOLVED:1]  (blue)\",\"state\":\"alerting\",\"message\":\"**Firing**\\n\\nLabels:\\n - alertname = T2\\n - team = blue\\n - zone = us-1\\n\"}";

/* legacy Grafana alerting webhook, from Grafana's documentation */
static const char GRAFANA_LEGACY[] =
    "{\"dashboardId\":1,\"evalMatches\":[{\"value\":1,\"metric\":\"Count\",\"tags\":{}}],"
    "\"imageUrl\":\"https://grafana.com/static/assets/img/blog/mixed_styles.png\","
    "\"message\":\"Notification Message\",\"orgId\":1,\"panelId\":2,\"ruleId\":1,"
    "\"ruleName\":\"Panel Title\",\"ruleUrl\":\"http://localhost:3000/d/hZ7BuVbWz/test-dashboard?fullscreen&edit&tab=alert&panelId=2&orgId=1\","
    "\"state\":\"alerting\",\"tags\":{\"tag name\":\"tag value\"},\"title\":\"[Alerting] Panel Title\"}";

#endif
