"""Links to the dashboard's pages for what an alert is about."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from parent_harness.notify.incidents import Incident
from parent_harness.notify.rules import Rule


@dataclass(frozen=True, slots=True)
class Links:
    """Builds dashboard URLs from its public base URL (`http://localhost:3333`)."""

    base: str

    def page(self, kind: str, entity_id: str) -> str:
        """The page of one entity: `<base>/#/tasks/<id>`, `#/agents/<id>`, `#/sessions/<id>`."""
        return f"{self.base}/#/{kind}/{quote(entity_id, safe='')}"

    def task(self, task_id: str) -> str:
        """The task's page."""
        return self.page("tasks", task_id)

    def agent(self, agent_id: str) -> str:
        """The agent's page."""
        return self.page("agents", agent_id)

    def home(self) -> str:
        """The dashboard's front page."""
        return f"{self.base}/"

    def for_incident(self, rule: Rule, incident: Incident) -> str:
        """The page that shows the incident's subject best."""
        entity, context = rule.entity, incident.context
        if entity == "task":
            return self.task(incident.subject)
        if entity == "agent":
            return self.agent(incident.subject)
        if entity == "session":
            return self.page("sessions", incident.subject)
        if entity == "approval":
            return f"{self.base}/#/inbox"
        if entity == "test_run" and context.get("task_id"):
            return self.task(str(context["task_id"]))
        return self.home()
