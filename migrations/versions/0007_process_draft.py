"""process drafts: a process owner's unfinished edit of a process, one per process key

process_draft holds the package as the modeler sends it (BPMN, DMN tables, form schemas, as JSON),
who saved it and when, and a revision number that each save increments: a save based on an older
revision is refused, so two owners editing the same draft are told instead of overwriting each other.

Revision ID: 0007_process_draft
Revises: 0006_user_administration
"""
import sqlalchemy as sa
from alembic import op


revision = '0007_process_draft'
down_revision = '0006_user_administration'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('process_draft',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('package', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('saved_by', sa.String(length=100), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('process_draft')
