// Fixture: things that must not confuse the brace matcher.
#include <string>
namespace fixture {
inline constexpr int kTable[] = {1, 2, 3};  // an aggregate, not a function
struct Holder {
 public:
  Holder(int a, int b)
      : a_{a},
        b_(b) {
    a_ += 0;  // { not a brace
    a_ += 1;  // { not a brace
    a_ += 2;  // { not a brace
    a_ += 3;  // { not a brace
    a_ += 4;  // { not a brace
    a_ += 5;  // { not a brace
    a_ += 6;  // { not a brace
    a_ += 7;  // { not a brace
    a_ += 8;  // { not a brace
    a_ += 9;  // { not a brace
    a_ += 10;  // { not a brace
    a_ += 11;  // { not a brace
    a_ += 12;  // { not a brace
    a_ += 13;  // { not a brace
    a_ += 14;  // { not a brace
    a_ += 15;  // { not a brace
    a_ += 16;  // { not a brace
    a_ += 17;  // { not a brace
    a_ += 18;  // { not a brace
    a_ += 19;  // { not a brace
    a_ += 20;  // { not a brace
    a_ += 21;  // { not a brace
    a_ += 22;  // { not a brace
    a_ += 23;  // { not a brace
    a_ += 24;  // { not a brace
    a_ += 25;  // { not a brace
    a_ += 26;  // { not a brace
    a_ += 27;  // { not a brace
    a_ += 28;  // { not a brace
    a_ += 29;  // { not a brace
    a_ += 30;  // { not a brace
    a_ += 31;  // { not a brace
    a_ += 32;  // { not a brace
    a_ += 33;  // { not a brace
    a_ += 34;  // { not a brace
    a_ += 35;  // { not a brace
    a_ += 36;  // { not a brace
    a_ += 37;  // { not a brace
    a_ += 38;  // { not a brace
    a_ += 39;  // { not a brace
    a_ += 40;  // { not a brace
    a_ += 41;  // { not a brace
    a_ += 42;  // { not a brace
    a_ += 43;  // { not a brace
    a_ += 44;  // { not a brace
    a_ += 45;  // { not a brace
    a_ += 46;  // { not a brace
    a_ += 47;  // { not a brace
    a_ += 48;  // { not a brace
    a_ += 49;  // { not a brace
    a_ += 50;  // { not a brace
    a_ += 51;  // { not a brace
    a_ += 52;  // { not a brace
    a_ += 53;  // { not a brace
    a_ += 54;  // { not a brace
    a_ += 55;  // { not a brace
    a_ += 56;  // { not a brace
    a_ += 57;  // { not a brace
    a_ += 58;  // { not a brace
    a_ += 59;  // { not a brace
    a_ += 60;  // { not a brace
    a_ += 61;  // { not a brace
    s_ = "}{";
  }
  int short_one() const { return a_; }
  int a_;
  int b_;
  std::string s_;
};
/* a { in a block comment
   } */
}  // namespace fixture
