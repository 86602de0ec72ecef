// Extracts every ```cpp block of the given Markdown files into a compilable
// translation unit, for tests/docs/compile_snippets.sh (docs are code: a
// snippet that stops compiling fails the test suite, issue 13).
//
//   extract_snippets OUT_DIR ROOT FILE.md...     (FILE paths relative to ROOT)
//
// Each block becomes OUT_DIR/<file>_<line>.cpp: its #include lines at file
// scope, its declarations (struct, class, template, function definitions,
// registration macros) at file scope, and its statements in the body of a
// function; a block with its own main() is a whole program. #line directives
// point compiler messages at the Markdown file and line.
//
// A comment on the lines just before the fence changes that:
//   <!-- not compiled: REASON -->           the block is skipped (say why)
//   <!-- compiled after the previous snippet -->
//                                           the block continues the previous
//                                           one's program (its variables)
//   <!-- compiled with: CODE -->            CODE (declarations the prose
//                                           implies; its #include and using
//                                           namespace lines go to file scope)
//                                           precedes the statements
//   <!-- compiled after the previous snippet, with: CODE -->   both
// Fences other than ```cpp (```cpp-fragment, ```sh, ...) are never compiled.
// Prints one line per block: "compiled FILE:LINE" or "skipped FILE:LINE: REASON".
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Line {
  std::size_t number;
  std::string text;
};

struct Program {
  std::string name;
  std::vector<std::pair<std::string, std::vector<Line>>> includes, file_scope, body;
  std::string context;
  bool has_main = false;
  std::size_t scopes = 0;  // nested blocks opened for continuing snippets
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string without_comment(const std::string& line);

// Whether a line at brace depth 0 starts a declaration that must stay at file
// scope: a type, a template, a namespace, a registration macro, or a function
// definition ("type name(...)" with no '=' before the parenthesis).
bool starts_declaration(const std::string& line) {
  static const std::regex keyword(
      R"(^(struct|class|template|namespace|union|enum|using\s+namespace|XG_REGISTER_\w+)\b)");
  static const std::regex function(
      R"(^(inline\s+|static\s+|constexpr\s+)*[A-Za-z_][\w:<>,\s\*&]*[\s\*&]+[A-Za-z_~][\w:]*\s*\()");
  static const std::regex control(R"(^(if|for|while|switch|return|do|else|auto)\b)");
  if (std::regex_search(line, keyword)) return true;
  if (std::regex_search(line, control)) return false;
  if (!std::regex_search(line, function)) return false;
  if (line.find('=') < line.find('(')) return false;  // a variable's initialiser
  // "xg::Rng rng(0);" is a variable too: a definition does not end in ';'.
  const std::string code = trim(without_comment(line));
  return code.empty() || code.back() != ';';
}

// The line up to a // comment that is not inside a string or character literal.
std::string without_comment(const std::string& line) {
  bool in_string = false, in_char = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '"' && !in_char) in_string = !in_string;
    if (c == '\'' && !in_string) in_char = !in_char;
    if (!in_string && !in_char && c == '/' && i + 1 < line.size() && line[i + 1] == '/')
      return line.substr(0, i);
  }
  return line;
}

int depth_change(const std::string& line) {
  int d = 0;
  bool in_string = false, in_char = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (!in_string && !in_char && c == '/' && i + 1 < line.size() && line[i + 1] == '/') break;
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '"' && !in_char) in_string = !in_string;
    if (c == '\'' && !in_string) in_char = !in_char;
    if (in_string || in_char) continue;
    if (c == '{' || c == '(') ++d;
    if (c == '}' || c == ')') --d;
  }
  return d;
}

// Splits a block into includes, file-scope chunks and statement chunks.
void classify(const std::string& file, const std::vector<Line>& block, Program& p) {
  int depth = 0;
  bool declaration = false;
  std::vector<Line> pending_comments;
  for (const Line& l : block) {
    const std::string t = trim(l.text);
    if (depth == 0) {
      if (starts_with(t, "#include")) {
        p.includes.push_back({file, {l}});
        continue;
      }
      if (t.empty() || starts_with(t, "//")) {
        pending_comments.push_back(l);
        continue;
      }
      if (starts_with(l.text, " ") && !p.body.empty() && !declaration) {
        // an indented continuation of a statement: stays where it was
      } else {
        declaration = starts_declaration(l.text);
      }
      if (std::regex_search(l.text, std::regex(R"(\bint\s+main\s*\()"))) p.has_main = true;
      auto& target = declaration ? p.file_scope : p.body;
      target.push_back({file, pending_comments});
      pending_comments.clear();
      target.back().second.push_back(l);
    } else {
      (declaration ? p.file_scope : p.body).back().second.push_back(l);
    }
    depth += depth_change(l.text);
    if (depth < 0) depth = 0;
  }
}

void emit_chunks(std::ostream& out,
                 const std::vector<std::pair<std::string, std::vector<Line>>>& chunks) {
  for (const auto& [file, lines] : chunks) {
    if (lines.empty()) continue;
    if (file.empty()) {  // generated code, no position
      for (const auto& l : lines) out << l.text << "\n";
      continue;
    }
    if (lines.front().number == 0)  // from a marker comment
      out << "#line 1 \"" << file << " (marker)\"\n";
    else
      out << "#line " << lines.front().number << " \"" << file << "\"\n";
    for (const auto& l : lines) out << l.text << "\n";
  }
}

void write_program(const std::string& dir, const Program& p) {
  std::ofstream out(dir + "/" + p.name + ".cpp");
  out << "// Generated by tests/docs/extract_snippets from " << p.name << "\n"
      << "// The standard headers a reader may assume; every xgrad header must be\n"
      << "// included by the snippet itself.\n"
      << "#include <cmath>\n#include <cstddef>\n#include <iostream>\n#include <memory>\n"
      << "#include <string>\n#include <utility>\n#include <vector>\n";
  emit_chunks(out, p.includes);
  emit_chunks(out, p.file_scope);
  if (!p.body.empty() || !p.context.empty()) {
    out << "#line 1 \"<snippet function>\"\n"
        << "[[maybe_unused]] void xgrad_doc_snippet() {\n"
        << p.context << "\n";
    emit_chunks(out, p.body);
    out << std::string(p.scopes, '}') << "}\n";
  }
  if (!p.has_main) out << "int main() {}\n";
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: extract_snippets OUT_DIR ROOT FILE.md...\n";
    return 2;
  }
  const std::string out_dir = argv[1], root = argv[2];
  int status = 0;
  for (int a = 3; a < argc; ++a) {
    const std::string file = argv[a];
    std::ifstream in(root + "/" + file);
    if (!in) {
      std::cerr << "extract_snippets: cannot read " << root << "/" << file << "\n";
      return 2;
    }
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::vector<Program> programs;
    bool last_was_compiled = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string t = trim(lines[i]);
      if (!starts_with(t, "```")) continue;
      const std::string info = trim(t.substr(3));
      std::size_t end = i + 1;
      while (end < lines.size() && !starts_with(trim(lines[end]), "```")) ++end;
      if (info != "cpp") {
        i = end;
        continue;
      }
      // The comment just before the fence (blank lines allowed between).
      std::size_t k = i;
      while (k > 0 && trim(lines[k - 1]).empty()) --k;
      std::string marker;
      if (k > 0 && trim(lines[k - 1]).size() >= 3 &&
          trim(lines[k - 1]).compare(trim(lines[k - 1]).size() - 3, 3, "-->") == 0) {
        std::size_t s = k - 1;
        while (s > 0 && lines[s].find("<!--") == std::string::npos) --s;
        for (std::size_t j = s; j < k; ++j) marker += lines[j] + "\n";
        marker = trim(marker.substr(marker.find("<!--") + 4));
        marker = trim(marker.substr(0, marker.rfind("-->")));
      }
      const std::string where = file + ":" + std::to_string(i + 1);
      std::vector<Line> block;
      for (std::size_t j = i + 1; j < end; ++j) block.push_back({j + 1, lines[j]});
      i = end;
      if (starts_with(marker, "not compiled:")) {
        const std::string reason = trim(marker.substr(13));
        if (reason.empty()) {
          std::cerr << where << ": 'not compiled:' needs a reason\n";
          status = 1;
        }
        std::cout << "skipped " << where << ": " << reason << "\n";
        last_was_compiled = false;
        continue;
      }
      const std::string after = "compiled after the previous snippet";
      const bool continues = starts_with(marker, after);
      if (continues) marker = trim(marker.substr(after.size()));
      if (continues && starts_with(marker, ",")) marker = "compiled " + trim(marker.substr(1));
      if (continues && !last_was_compiled) {
        std::cerr << where
                  << ": continues a previous snippet, but the one before is not compiled\n";
        status = 1;
        continue;
      }
      if (!continues) {
        programs.push_back({});
        programs.back().name = sanitize(file) + "_" + std::to_string(i + 1 - block.size() - 1);
      }
      Program& p = programs.back();
      if (continues) {
        // Its statements in a nested block: it sees the previous snippet's
        // variables and may reuse their names (shadowing), as a reader would.
        p.body.push_back({"", {{0, "{"}}});
        ++p.scopes;
      }
      if (starts_with(marker, "compiled with:")) {
        // Its #include lines go to file scope, the rest before the statements.
        std::istringstream context(marker.substr(14));
        for (std::string l; std::getline(context, l);) {
          if (starts_with(trim(l), "#include") || starts_with(trim(l), "using namespace"))
            p.includes.push_back({file, {{0, trim(l)}}});
          else
            p.context += l + "\n";
        }
      } else if (!marker.empty()) {
        std::cerr << where << ": unknown snippet marker '" << marker << "'\n";
        status = 1;
      }
      classify(file, block, p);
      last_was_compiled = true;
      std::cout << "compiled " << where << (continues ? " (with the previous snippet)" : "")
                << "\n";
    }
    for (const auto& p : programs) write_program(out_dir, p);
  }
  return status;
}
