"""Workspace definitions: TOML files in, validated models and located problems out."""

from duftui.definitions.loader import Catalogue, ProjectEntry, TaskEntry, load_workspace
from duftui.definitions.models import Project, Task
from duftui.definitions.problems import Problem

__all__ = ["Catalogue", "Problem", "Project", "ProjectEntry", "Task", "TaskEntry", "load_workspace"]
