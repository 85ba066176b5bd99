// Linked with one component's whole archive: the program links only when that component's
// declared dependencies define every symbol it uses (tests/components/CMakeLists.txt).
int main() {
  return 0;
}
