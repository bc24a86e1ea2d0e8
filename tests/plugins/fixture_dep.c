/* The library missing_dep.so needs; built where the loader will not look. */
int cl_fixture_dep_value(void);
int cl_fixture_dep_value(void) { return 42; }
