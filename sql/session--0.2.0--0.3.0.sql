/* session: upgrade from 0.2.0 to 0.3.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION session UPDATE TO '0.3.0'" to load this file. \quit
