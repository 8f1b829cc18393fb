"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 08:01:27.006852
"""
from alembic import op
import sqlalchemy as sa
import examvault.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=80), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_target', ['target_type', 'target_id'], unique=False)

    op.create_table('bank_meta',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Uuid(), nullable=False),
    sa.Column('institution', sa.String(length=200), nullable=False),
    sa.Column('created_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('root_check', sa.LargeBinary(), nullable=False),
    sa.Column('shares_threshold', sa.Integer(), nullable=True),
    sa.Column('shares_count', sa.Integer(), nullable=True),
    sa.Column('shares_created_at', examvault.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_meta'))
    )
    op.create_table('code_sequences',
    sa.Column('prefix', sa.String(length=60), nullable=False),
    sa.Column('next_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_code_sequences'))
    )
    op.create_table('key_policies',
    sa.Column('domain', sa.String(length=40), nullable=False),
    sa.Column('primary_version', sa.Integer(), nullable=False),
    sa.Column('min_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('domain', name=op.f('pk_key_policies'))
    )
    op.create_table('key_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('kdf_params', sa.JSON(), nullable=False),
    sa.Column('salt', sa.LargeBinary(), nullable=False),
    sa.Column('wrapped_root', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_slots'))
    )
    op.create_table('occupations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_occupations')),
    sa.UniqueConstraint('code', name=op.f('uq_occupations_code'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('domain_keys',
    sa.Column('domain', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', examvault.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['domain'], ['key_policies.domain'], name=op.f('fk_domain_keys_domain_key_policies')),
    sa.PrimaryKeyConstraint('domain', 'version', name=op.f('pk_domain_keys'))
    )
    op.create_table('outlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupations.id'], name=op.f('fk_outlines_occupation_id_occupations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outlines')),
    sa.UniqueConstraint('occupation_id', 'level', 'kind', name=op.f('uq_outlines_occupation_id'))
    )
    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_roles'))
    )
    op.create_table('outline_nodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outline_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_point', sa.Boolean(), nullable=False),
    sa.Column('weight', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('importance', sa.String(length=1), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['outline_id'], ['outlines.id'], name=op.f('fk_outline_nodes_outline_id_outlines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['outline_nodes.id'], name=op.f('fk_outline_nodes_parent_id_outline_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outline_nodes')),
    sa.UniqueConstraint('outline_id', 'code', name=op.f('uq_outline_nodes_outline_id'))
    )
    with op.batch_alter_table('outline_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outline_nodes_outline_id'), ['outline_id'], unique=False)

    op.create_table('items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('author', sa.String(length=80), nullable=False),
    sa.Column('reviewer', sa.String(length=80), nullable=False),
    sa.Column('enemy_group', sa.String(length=60), nullable=True),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('p_value', sa.Float(), nullable=True),
    sa.Column('discrimination', sa.Float(), nullable=True),
    sa.Column('n_responses', sa.Integer(), nullable=False),
    sa.Column('usage_count', sa.Integer(), nullable=False),
    sa.Column('last_used_at', examvault.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupations.id'], name=op.f('fk_items_occupation_id_occupations')),
    sa.ForeignKeyConstraint(['parent_id'], ['items.id'], name=op.f('fk_items_parent_id_items')),
    sa.ForeignKeyConstraint(['point_id'], ['outline_nodes.id'], name=op.f('fk_items_point_id_outline_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('code', name=op.f('uq_items_code'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_enemy', ['enemy_group'], unique=False, sqlite_where=sa.text('enemy_group IS NOT NULL'), postgresql_where=sa.text('enemy_group IS NOT NULL'))
        batch_op.create_index('ix_items_parent', ['parent_id'], unique=False, sqlite_where=sa.text('parent_id IS NOT NULL'), postgresql_where=sa.text('parent_id IS NOT NULL'))
        batch_op.create_index('ix_items_point', ['point_id'], unique=False)
        batch_op.create_index('ix_items_selection', ['occupation_id', 'level', 'type', 'status'], unique=False)

    op.create_table('item_versions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', examvault.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('dek', sa.LargeBinary(), nullable=False),
    sa.Column('stem', sa.LargeBinary(), nullable=False),
    sa.Column('options', sa.LargeBinary(), nullable=True),
    sa.Column('answer', sa.LargeBinary(), nullable=True),
    sa.Column('analysis', sa.LargeBinary(), nullable=True),
    sa.Column('media', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_versions_item_id_items')),
    sa.ForeignKeyConstraint(['point_id'], ['outline_nodes.id'], name=op.f('fk_item_versions_point_id_outline_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_versions')),
    sa.UniqueConstraint('item_id', 'version', name=op.f('uq_item_versions_item_id'))
    )



def downgrade() -> None:

    op.drop_table('item_versions')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_selection')
        batch_op.drop_index('ix_items_point')
        batch_op.drop_index('ix_items_parent', sqlite_where=sa.text('parent_id IS NOT NULL'), postgresql_where=sa.text('parent_id IS NOT NULL'))
        batch_op.drop_index('ix_items_enemy', sqlite_where=sa.text('enemy_group IS NOT NULL'), postgresql_where=sa.text('enemy_group IS NOT NULL'))

    op.drop_table('items')
    with op.batch_alter_table('outline_nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outline_nodes_outline_id'))

    op.drop_table('outline_nodes')
    op.drop_table('user_roles')
    op.drop_table('outlines')
    op.drop_table('domain_keys')
    op.drop_table('users')
    op.drop_table('occupations')
    op.drop_table('key_slots')
    op.drop_table('key_policies')
    op.drop_table('code_sequences')
    op.drop_table('bank_meta')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_target')
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')

