/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/service_user.h: nova.conf's [service_user] identity, the service
 * token's (docs/auth.md): its nine fields written once, as a table from
 * which the config file's keys (config.c), the settings' copy and checks
 * (settings.c) and the Keystone client's copy (clients/auth.c) are made.
 */
#ifndef FS_SERVICE_USER_H
#define FS_SERVICE_USER_H

/* Which auth_type a field belongs to. */
enum { FS_SU_PASSWORD = 1, FS_SU_APPCRED = 2, FS_SU_BOTH = 3 };

/* X(name, auth_types): `name` is the key in [service_user], the field of
 * fs_service_user and, with "os_" before it, the field of an identity in
 * fs_settings; `auth_types` the FS_SU_* it is used by (an application
 * credential carries the user and the scope). */
#define FS_SERVICE_USER_FIELDS(X) \
	X(auth_url, FS_SU_BOTH) \
	X(username, FS_SU_PASSWORD) \
	X(password, FS_SU_PASSWORD) \
	X(user_domain_name, FS_SU_PASSWORD) \
	X(project_name, FS_SU_PASSWORD) \
	X(project_id, FS_SU_PASSWORD) \
	X(project_domain_name, FS_SU_PASSWORD) \
	X(application_credential_id, FS_SU_APPCRED) \
	X(application_credential_secret, FS_SU_APPCRED)

typedef struct {
#define FS_SU_FIELD(name, auth_types) char *name;
	FS_SERVICE_USER_FIELDS(FS_SU_FIELD)
#undef FS_SU_FIELD
} fs_service_user;

#endif
