"""On PostgreSQL, the database itself refuses UPDATE and DELETE of journal transactions and postings:
the ledger is append-only; mistakes are fixed with reversing transactions."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION kopeck_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION kopeck_ledger_append_only();
CREATE TRIGGER ledger_transaction_append_only BEFORE UPDATE OR DELETE ON ledger_journaltransaction
    FOR EACH ROW EXECUTE FUNCTION kopeck_ledger_append_only();
"""
REVERSE = """
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_transaction_append_only ON ledger_journaltransaction;
DROP FUNCTION IF EXISTS kopeck_ledger_append_only();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)  # no parameters: the '%' of RAISE stays as it is


def forwards(apps, schema_editor):
    _run(schema_editor, SQL)


def backwards(apps, schema_editor):
    _run(schema_editor, REVERSE)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
