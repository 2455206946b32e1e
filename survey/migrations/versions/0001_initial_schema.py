"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 09:55:31.258214
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa



revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionnaire_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=40), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('likert_codes', sa.JSON(), nullable=False),
    sa.Column('source_file', sa.String(length=300), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_versions')),
    sa.UniqueConstraint('questionnaire_id', 'content_hash', name='uq_questionnaire_version')
    )
    with op.batch_alter_table('questionnaire_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_versions_questionnaire_id'), ['questionnaire_id'], unique=False)

    op.create_table('towns',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_towns'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('waves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('title_zh', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('targets', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waves')),
    sa.UniqueConstraint('code', name=op.f('uq_waves_code'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    op.create_table('collection_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('town_code', sa.String(length=40), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('focus_domain', sa.String(length=40), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['town_code'], ['towns.code'], name=op.f('fk_collection_points_town_code_towns')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_collection_points_wave_id_waves'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_points')),
    sa.UniqueConstraint('token', name=op.f('uq_collection_points_token')),
    sa.UniqueConstraint('wave_id', 'code', name='uq_point_code')
    )
    with op.batch_alter_table('collection_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_points_wave_id'), ['wave_id'], unique=False)

    op.create_table('publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('results_json', sa.Text(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('input_hashes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_publications_wave_id_waves')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
    sa.UniqueConstraint('wave_id', 'revision', name='uq_publication_revision')
    )
    op.create_table('wave_questionnaires',
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=40), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['questionnaire_versions.id'], name=op.f('fk_wave_questionnaires_version_id_questionnaire_versions')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_wave_questionnaires_wave_id_waves'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('wave_id', 'questionnaire_id', name=op.f('pk_wave_questionnaires'))
    )
    op.create_table('publication_files',
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], name=op.f('fk_publication_files_publication_id_publications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('publication_id', 'name', name=op.f('pk_publication_files'))
    )
    op.create_table('responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('respondent_hash', sa.String(length=64), nullable=True),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('age_group', sa.String(length=10), nullable=True),
    sa.Column('town_code', sa.String(length=40), nullable=True),
    sa.Column('services_used', sa.String(length=400), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('flags', sa.String(length=200), nullable=False),
    sa.Column('current_page', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['point_id'], ['collection_points.id'], name=op.f('fk_responses_point_id_collection_points')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_responses_wave_id_waves')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses')),
    sa.UniqueConstraint('uid', name=op.f('uq_responses_uid'))
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_responses_point_id'), ['point_id'], unique=False)
        batch_op.create_index('ix_responses_wave_respondent', ['wave_id', 'respondent_hash'], unique=False)
        batch_op.create_index('ix_responses_wave_state', ['wave_id', 'state'], unique=False)

    op.create_table('answer_sets',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_answer_sets_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['questionnaire_versions.id'], name=op.f('fk_answer_sets_version_id_questionnaire_versions')),
    sa.PrimaryKeyConstraint('response_id', 'version_id', name=op.f('pk_answer_sets'))
    )
    with op.batch_alter_table('answer_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_sets_version_id'), ['version_id'], unique=False)

    op.create_table('submission_keys',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('page', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_url', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_submission_keys_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_submission_keys'))
    )
    with op.batch_alter_table('submission_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_keys_response_id'), ['response_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('submission_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_keys_response_id'))

    op.drop_table('submission_keys')
    with op.batch_alter_table('answer_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_sets_version_id'))

    op.drop_table('answer_sets')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_wave_state')
        batch_op.drop_index('ix_responses_wave_respondent')
        batch_op.drop_index(batch_op.f('ix_responses_point_id'))

    op.drop_table('responses')
    op.drop_table('publication_files')
    op.drop_table('wave_questionnaires')
    op.drop_table('publications')
    with op.batch_alter_table('collection_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_points_wave_id'))

    op.drop_table('collection_points')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    op.drop_table('waves')
    op.drop_table('users')
    op.drop_table('towns')
    with op.batch_alter_table('questionnaire_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_versions_questionnaire_id'))

    op.drop_table('questionnaire_versions')
