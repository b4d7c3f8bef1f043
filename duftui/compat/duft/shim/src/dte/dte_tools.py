"""DUFT's older `src.dte.dte_tools`, provided by duftui (see _duftui_shim).

Besides the functions of the newer modules it has module-level `log_message` and
`log_error`, `set_data_task_name` and `get_duft_config`, as DUFT's did.
"""

from _duftui_shim import (
    DataTaskEnvironment,
    assert_dte_tools_available,
    find_json_arg,
    get_data_dir,
    get_duft_config,
    get_resolved_parameters_for_connection,
    get_temp_dir,
    initialise_data_task,
    log_error,
    log_message,
    purge_temp_dir,
    set_data_task_name,
)

__all__ = [
    "DataTaskEnvironment",
    "assert_dte_tools_available",
    "find_json_arg",
    "get_data_dir",
    "get_duft_config",
    "get_resolved_parameters_for_connection",
    "get_temp_dir",
    "initialise_data_task",
    "log_error",
    "log_message",
    "purge_temp_dir",
    "set_data_task_name",
]
