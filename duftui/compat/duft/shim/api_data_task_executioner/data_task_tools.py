"""DUFT's `api_data_task_executioner.data_task_tools`, provided by duftui (see _duftui_shim)."""

from _duftui_shim import (
    DataTaskEnvironment,
    assert_dte_tools_available,
    find_json_arg,
    get_data_dir,
    get_resolved_parameters_for_connection,
    get_temp_dir,
    initialise_data_task,
    purge_temp_dir,
)

__all__ = [
    "DataTaskEnvironment",
    "assert_dte_tools_available",
    "find_json_arg",
    "get_data_dir",
    "get_resolved_parameters_for_connection",
    "get_temp_dir",
    "initialise_data_task",
    "purge_temp_dir",
]
