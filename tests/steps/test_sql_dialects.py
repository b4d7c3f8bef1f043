"""SQL Server without a server: pyodbc and Microsoft's ODBC driver are not installed here,
so the SQL Server path is checked through SQLAlchemy's compiler (the statements duftui
sends, in each driver's parameter style: pyodbc's `?`, psycopg's and pymysql's `%(name)s`) and through the missing-driver message."""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import Column, MetaData, Table, text
from sqlalchemy.dialects import mssql, mysql, postgresql
from sqlalchemy.schema import CreateTable

from duftui.steps.errors import StepError
from duftui.steps.sql import make_engine, protect_literals
from duftui.steps.table_load import _upsert
from duftui.steps.table_types import column_type

QUERY = "SELECT name FROM people -- uses :day\nWHERE born = :day AND t = '12:30' AND n = :n"


@pytest.mark.parametrize(
    ("dialect", "sent", "order"),
    [
        (mssql.pyodbc.dialect(paramstyle="qmark"), "born = ? AND t = '12:30' AND n = ?", ("day", "n")),
        (postgresql.psycopg.dialect(paramstyle="pyformat"), "born = %(day)s AND t = '12:30' AND n = %(n)s", None),
        (mysql.pymysql.dialect(paramstyle="pyformat"), "born = %(day)s AND t = '12:30' AND n = %(n)s", None),
    ],
)
def test_a_query_binds_in_each_dialects_own_style(dialect, sent: str, order) -> None:
    compiled = text(protect_literals(QUERY)).compile(dialect=dialect)
    assert sent in str(compiled)
    assert "-- uses :day" in str(compiled)  # a comment is not a parameter
    if order is not None:
        assert tuple(compiled.positiontup or ()) == order
    assert set(compiled.params) == {"day", "n"}


def test_a_created_table_compiles_for_sql_server() -> None:
    import pyarrow as pa

    table = Table(
        "visits",
        MetaData(),
        Column("clinic", column_type(None, True), primary_key=True),
        Column("patients", column_type(pa.int64(), False)),
        Column("at", column_type(pa.timestamp("us", tz="UTC"), False)),
        Column("note", column_type(None, False)),
        Column("raw", column_type(pa.binary(), False)),
        schema="dbo",
    )
    ddl = str(CreateTable(table).compile(dialect=mssql.pyodbc.dialect()))
    assert "CREATE TABLE dbo.visits" in ddl
    assert "clinic VARCHAR(255) NOT NULL" in ddl and "PRIMARY KEY (clinic)" in ddl
    assert "patients BIGINT" in ddl and "at DATETIMEOFFSET" in ddl
    assert "note NVARCHAR(max)" in ddl and "raw VARBINARY(max)" in ddl


def test_upsert_on_sql_server_is_refused_with_a_clear_message() -> None:
    table = Table("t", MetaData(), Column("id", column_type(None, True), primary_key=True))
    with pytest.raises(StepError, match='mode = "upsert" is not supported on mssql'):
        _upsert(table, ["id"], ["id"], "mssql")


@pytest.mark.skipif(
    importlib.util.find_spec("pyodbc") is not None, reason="pyodbc is installed here"
)
def test_a_missing_sql_server_driver_names_the_extra() -> None:
    url = "mssql+pyodbc://ops@127.0.0.1:1433/clinic?driver=ODBC+Driver+18+for+SQL+Server"
    with pytest.raises(StepError) as raised:
        make_engine("warehouse", {"type": "sql", "url": url})
    message = str(raised.value)
    assert message.startswith("source: connection warehouse: database driver missing")
    assert "pip install 'duftui[mssql]'" in message
