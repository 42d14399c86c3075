package guan.authz_test

import data.guan.authz

test_public_get if authz.allow with input as {"method": "GET", "path": "/public/logo.png", "clientIP": "198.51.100.9", "headers": {}, "query": {}}

test_public_post_denied if not authz.allow with input as {"method": "POST", "path": "/public/x", "clientIP": "198.51.100.9", "headers": {}, "query": {}}

test_reader_own_tenant if authz.allow with input as {"method": "GET", "path": "/orders/7", "clientIP": "198.51.100.9", "headers": {"x-user": "alice"}, "query": {"tenant": ["acme"]}}

test_reader_other_tenant_denied if not authz.allow with input as {"method": "GET", "path": "/orders/7", "clientIP": "198.51.100.9", "headers": {"x-user": "alice"}, "query": {"tenant": ["globex"]}}

test_admin_blocked_network if not authz.allow with input as {"method": "DELETE", "path": "/orders/7", "clientIP": "192.0.2.10", "headers": {"x-user": "root"}, "query": {}}

test_jwt_subject_wins if authz.allow with input as {"method": "PUT", "path": "/orders/7", "clientIP": "198.51.100.9", "headers": {"x-user": "mallory", "x-tenant": "acme"}, "query": {}, "jwt": {"sub": "bob"}}

test_decision_401 if authz.decision.status == 401 with input as {"method": "GET", "path": "/orders", "clientIP": "198.51.100.9", "headers": {}, "query": {}}
